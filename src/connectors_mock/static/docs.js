"use strict";
// Swagger UI for the OpenAPI document embedded in the page (`viewer.py`), sending "Try it out"
// to the server this page came from, whatever address the document's `servers` names.
(function () {
  const document_ = JSON.parse(document.getElementById("openapi-document").textContent);
  document_.servers = [{ url: window.location.origin, description: "this fake" }];
  window.ui = window.SwaggerUIBundle({
    spec: document_,
    dom_id: "#swagger-ui",
    // No top bar: it offers to load other documents, from anywhere.
    layout: "BaseLayout",
    presets: [window.SwaggerUIBundle.presets.apis],
    deepLinking: true,
    displayRequestDuration: true,
    // No badge from validator.swagger.io: the page asks nothing of any other host.
    validatorUrl: null,
    // The bearer key typed into Authorize lives in the page, not in the browser's storage.
    persistAuthorization: false,
  });
})();
