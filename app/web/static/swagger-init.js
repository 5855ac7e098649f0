// /api/docs/swagger (app/api/docs.py): Swagger UI over the app's own OpenAPI document.
// Its "Authorize" button takes an account's API token; the token stays in this page's
// memory only (not persisted), and is sent as "Authorization: Bearer ..." by "Try it out".
// validatorUrl null: no request to swagger.io's validator; the page works offline.
(function () {
  "use strict";
  window.ui = SwaggerUIBundle({
    url: "/api/docs/openapi.json",
    dom_id: "#swagger",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
  });
})();
