// Package docs holds plinth's documentation. It has no code: its test
// (docs_test.go) checks that the documents say what the code does.
package docs
