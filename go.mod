module github.com/sessionkit/session

go 1.24
