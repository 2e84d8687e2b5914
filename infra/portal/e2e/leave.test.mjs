// Leaving a customer behind two confirmation windows, from three, two and one customers: each
// time the screen the API names (choose a customer, the remaining customer's home, no access).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ACME, ADMIN, BASE, BETA, GAMMA, actor, dismissTour, logIn, mailTo, memberOf, screenshot, sessionOf, unique } from "./support.mjs";

async function leave(page, customer, { typed = customer } = {}) {
  await page.goto(`${BASE}/#/c/${customer}/settings`);
  await dismissTour(page);
  await page.getByRole("button", { name: `Cancel access to ${customer}` }).click();
  const first = page.getByRole("dialog", { name: "Cancel your access?" });
  await first.getByRole("button", { name: "Continue" }).click();
  const second = page.getByRole("dialog", { name: "Please confirm once more" });
  await second.getByLabel("Customer number").fill(typed);
  await second.getByRole("button", { name: "Cancel access for good" }).click();
  return second;
}

test("a member of three customers leaves them one by one: choose a customer, then the last one's home, then no access", async () => {
  const gina = unique("gina");
  const adminToken = await sessionOf(ADMIN);
  for (const customer of [ACME, BETA, GAMMA]) await memberOf(adminToken, customer, gina, { roles: ["Buyer"] });
  const { page, context, errors } = await actor();
  await logIn(page, { email: gina, password: "a long new password" });
  await page.getByRole("heading", { name: "Choose a customer" }).waitFor();
  await page.locator(`a[href="#/c/${ACME}/home"]`).click();
  await page.getByRole("dialog", { name: "Welcome tour" }).waitFor();
  await dismissTour(page);

  // The first window can be left with the access kept; the second refuses a wrong number.
  await page.goto(`${BASE}/#/c/${ACME}/settings`);
  await page.getByRole("button", { name: `Cancel access to ${ACME}` }).click();
  await screenshot(page, "leave-first-confirmation");
  await page.getByRole("dialog", { name: "Cancel your access?" }).getByRole("button", { name: "Keep my access" }).click();
  const refused = await leave(page, ACME, { typed: "999999" });
  await refused.getByText("The customer number you typed does not match. Nothing was changed.").waitFor();
  await refused.getByLabel("Customer number").fill(ACME);
  await screenshot(page, "leave-second-confirmation");
  await refused.getByRole("button", { name: "Cancel access for good" }).click();
  await page.getByRole("heading", { name: "Choose a customer" }).waitFor();
  const left = await page.locator("ul.choices a").allTextContents();
  assert.deepEqual(left.length, 2, `${left}`);
  assert.ok(!left.some((name) => name.includes(ACME)), `${left}`);
  // The admins are told.
  await mailTo(ADMIN.email, new RegExp(gina.replace(/[.]/g, "\\.")));

  await page.locator(`a[href="#/c/${BETA}/home"]`).click();
  await leave(page, BETA);
  await page.waitForURL(new RegExp(`#/c/${GAMMA}/home$`));
  await dismissTour(page);
  assert.match(await page.textContent("main"), /Gamma Handel KG \(customer number 200002\)/);
  assert.equal(await page.getByRole("link", { name: "Change customer" }).count(), 0, "one customer left");

  await leave(page, GAMMA);
  await page.getByRole("heading", { name: "No access to any customer" }).waitFor();
  assert.match(await page.textContent("main"), /if you no longer need your account, you can delete it yourself here/);
  assert.doesNotMatch(await page.textContent("main"), /support/, "deleting is the user's own step, not support's");
  assert.equal(await page.locator("nav").count(), 0, "nothing to navigate to");
  assert.deepEqual(
    await page.getByRole("button").allTextContents(),
    ["Log out", "Delete my account"],
    "only the language, deleting the account and log-out work here",
  );
  await screenshot(page, "no-access");
  await page.getByLabel("Language").selectOption("de");
  await page.getByRole("heading", { name: "Kein Zugang zu einem Kunden" }).waitFor();
  await page.getByText("Gespeichert.").waitFor();
  await page.goto(`${BASE}/#/c/${GAMMA}/home`);
  await page.getByRole("heading", { name: "Kein Zugang zu einem Kunden" }).waitFor();
  await page.getByRole("button", { name: "Abmelden" }).click();
  await page.getByRole("heading", { name: "Bei CloudHub anmelden" }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test("the last admin of a customer cannot leave it, and is told why", async () => {
  const { page, context } = await actor();
  await logIn(page, ADMIN, ACME);
  const second = await leave(page, ACME);
  await second.getByText("This would leave the customer without an admin.").waitFor();
  await context.close();
});
