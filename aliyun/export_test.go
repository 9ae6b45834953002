package aliyun

// RequestIDPattern is requestIDPattern for the tests of package
// aliyun_test, which run the whole server.
var RequestIDPattern = requestIDPattern
