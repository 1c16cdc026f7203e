module github.com/sessionkit/session/examples/chi

go 1.26.0

replace github.com/sessionkit/session => ../..

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/sessionkit/session v0.0.0-00010101000000-000000000000
)
