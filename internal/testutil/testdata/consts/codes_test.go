package consts

const CodeInTest Code = "test files are not read"
