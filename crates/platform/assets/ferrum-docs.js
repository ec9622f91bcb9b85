// Renders this server's OpenAPI document with Swagger UI. Every URL is relative to the page
// (`/docs`), so the reference also works behind a path prefix, and nothing is fetched from
// anywhere but this server: no CDN, no online validator.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", window.location.href).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
});
