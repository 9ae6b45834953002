// Package catalog holds the built-in region catalogs of Alibaba Cloud and
// Baidu AI Cloud BCC. They are data, always present, and never stored.
package catalog
