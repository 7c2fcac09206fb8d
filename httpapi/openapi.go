package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPI describes every route. Its /accounts/new-api-key entry and the
// schemas it names are the platform's published document, unchanged.
//
//go:embed openapi.json
var openAPI []byte

func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, http.StatusOK, openAPI)
	})
}
