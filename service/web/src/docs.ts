// The API documentation page: Swagger UI from local assets, no inline script, no CDN.
import { byId } from "./lib/dom";

const node = byId("swagger-ui");
SwaggerUIBundle({ url: node.dataset.specUrl ?? "/openapi/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
