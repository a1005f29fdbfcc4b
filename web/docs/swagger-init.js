// Starts Swagger UI on /docs. A file of its own, not an inline script, so the page's
// Content-Security-Policy can forbid inline script.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null, // the default badge is an image from another origin
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
