// A page of another origin calls the local stack's API, as a frontend team's dev server would:
// the stack answers the browser's preflights as template.yaml configures API Gateway
// (http://localhost:{DevServerPort} is allowed on every stage but prod; infra/e2e sets the port).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ADMIN, BASE, actor, logIn } from "./support.mjs";

test("the portal on http://localhost:{DevServerPort} logs in against the API on 127.0.0.1 through CORS", async () => {
  const port = new URL(BASE).port;
  const { page, context, errors } = await actor();
  const allowed = [];
  page.on("response", (response) => {
    if (response.url().startsWith(`${BASE}/`)) allowed.push(response.headers()["access-control-allow-origin"]);
  });
  const origin = `http://localhost:${port}`;
  await page.goto(`${origin}/?api=${encodeURIComponent(BASE)}`);
  await logIn(page, ADMIN, "100234", { origin });
  await page.getByRole("heading", { name: "Welcome to CloudHub" }).waitFor();
  assert.equal(new URL(page.url()).origin, origin);
  assert.ok(allowed.length >= 2, "log-in and /me went to the API's origin");
  assert.ok(
    allowed.every((origin) => origin === `http://localhost:${port}`),
    `every answer names the page's origin: ${allowed}`,
  );
  assert.deepEqual(errors, []);
  await context.close();
});
