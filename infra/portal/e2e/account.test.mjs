// The account's own screens: the invitations waiting for its email (on the no-access and the
// choose-customer screens, and in the restricted portal's Settings), accepted or declined
// without the link; deleting the account; an admin's "email me when accepted" setting.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ACME,
  ADMIN,
  BASE,
  BETA,
  GAMMA,
  QUOTA_ADMIN,
  accountWithoutCustomer,
  actor,
  call,
  invite,
  logIn,
  memberOf,
  screenshot,
  sessionOf,
  unique,
} from "./support.mjs";

test("with no customer left, the waiting invitations are on the no-access screen: one declined after a confirmation, the other accepted, landing in that customer", async () => {
  const adminToken = await sessionOf(ADMIN);
  const jo = await accountWithoutCustomer(adminToken, unique("jo"));
  await invite(adminToken, ACME, jo.email, { roles: ["Buyer"] });
  const declined = await invite(adminToken, BETA, jo.email);

  const { page, context, errors } = await actor();
  await logIn(page, jo);
  await page.getByRole("heading", { name: "No access to any customer" }).waitFor();
  const waiting = page.getByRole("region", { name: "Invitations waiting for you" });
  const beta = waiting.locator(`li[data-invitation="${BETA}"]`);
  const acme = waiting.locator(`li[data-invitation="${ACME}"]`);
  await beta.getByText(`${ADMIN.email} invites you to CloudHub for Beta Logistik AG (customer number ${BETA}).`).waitFor();
  await acme.getByText("It grants these roles: Buyer.").waitFor();
  await screenshot(page, "waiting-invitations");

  // The confirmation can be left with the invitation kept.
  await beta.getByRole("button", { name: "Decline" }).click();
  const confirm = page.getByRole("dialog", { name: "Decline the invitation?" });
  await confirm.getByText(`You are about to decline the invitation to Beta Logistik AG (customer number ${BETA}).`).waitFor();
  await confirm.getByRole("button", { name: "Keep the invitation" }).click();
  await confirm.waitFor({ state: "detached" });
  assert.equal(await beta.count(), 1, "kept: still there");
  await beta.getByRole("button", { name: "Decline" }).click();
  await confirm.getByRole("button", { name: "Decline the invitation" }).click();
  await waiting.getByText(`You declined the invitation to Beta Logistik AG (customer number ${BETA}).`).waitFor();
  await beta.waitFor({ state: "detached" });
  const listed = await call("GET", `/customers/${BETA}/invitations?status=declined&email=${encodeURIComponent(jo.email)}`, { token: adminToken });
  assert.deepEqual(listed.body.invitations.map((i) => i.id), [declined.id], "the admins' list shows it declined");

  await acme.getByRole("button", { name: "Accept" }).click();
  await page.waitForURL(new RegExp(`#/c/${ACME}/home$`));
  await page.getByRole("heading", { name: "Welcome to CloudHub" }).waitFor();
  await page.getByRole("link", { name: "Orders" }).waitFor();
  assert.equal((await call("GET", "/me/invitations", { token: await sessionOf(jo) })).body.invitations.length, 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a member of two customers sees a third one's invitation on the choose-customer screen and in the restricted portal's Settings, and accepts it there", async () => {
  const adminToken = await sessionOf(ADMIN);
  const kai = unique("kai");
  await memberOf(adminToken, ACME, kai);
  await memberOf(adminToken, BETA, kai, { roles: ["Buyer"] });
  await invite(adminToken, GAMMA, kai);

  const { page, context, errors } = await actor();
  await logIn(page, { email: kai, password: "a long new password" });
  await page.getByRole("heading", { name: "Choose a customer" }).waitFor();
  const onChoose = page.getByRole("region", { name: "Invitations waiting for you" });
  await onChoose.locator(`li[data-invitation="${GAMMA}"]`).getByText("Gamma Handel KG").waitFor();
  await screenshot(page, "choose-with-invitation");

  // In the restricted portal (no roles at ACME): Home points to Settings, which lists it.
  await page.locator(`a[href="#/c/${ACME}/home"]`).click();
  await page.locator(".banner").waitFor();
  await page.getByRole("link", { name: "Invitations are waiting for you (1): you find them in Settings." }).click();
  await page.waitForURL(new RegExp(`#/c/${ACME}/settings$`));
  const inSettings = page.getByRole("region", { name: "Invitations waiting for you" });
  await inSettings.locator(`li[data-invitation="${GAMMA}"]`).getByRole("button", { name: "Accept" }).click();
  await page.waitForURL(new RegExp(`#/c/${GAMMA}/home$`));
  await page.getByText(`You are working for Gamma Handel KG (customer number ${GAMMA}).`).waitFor();
  await page.getByRole("link", { name: "Change customer" }).click();
  await page.getByRole("heading", { name: "Choose a customer" }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll("ul.choices a").length === 3);
  assert.equal(await page.getByRole("region", { name: "Invitations waiting for you" }).count(), 0, "nothing waits any more");
  assert.deepEqual(errors, []);
  await context.close();
});

test("in German, a user with no customer deletes its account on the no-access screen, confirmed by its email and password, and can no longer log in", async () => {
  const adminToken = await sessionOf(ADMIN);
  const lea = await accountWithoutCustomer(adminToken, unique("lea"));

  const { page, context, errors } = await actor();
  await logIn(page, lea);
  await page.getByRole("heading", { name: "No access to any customer" }).waitFor();
  await page.getByLabel("Language").selectOption("de");
  await page.getByRole("heading", { name: "Kein Zugang zu einem Kunden" }).waitFor();
  await page.getByText("wenn Sie Ihr Konto nicht mehr brauchen, können Sie es hier selbst löschen").waitFor();
  await page.getByRole("button", { name: "Mein Konto löschen" }).click();
  const dialog = page.getByRole("dialog", { name: "Konto endgültig löschen?" });
  await dialog.getByLabel("Ihre E-Mail-Adresse, noch einmal eingegeben").fill("someone.else@e2e.example");
  await dialog.getByLabel("Ihr Passwort").fill(lea.password);
  await dialog.getByRole("button", { name: "Konto endgültig löschen" }).click();
  await dialog.getByText("Die eingegebene E-Mail-Adresse ist nicht die Ihres Kontos. Es wurde nichts gelöscht.").waitFor();
  await dialog.getByLabel("Ihr Passwort").fill("not the password at all");
  await dialog.getByLabel("Ihre E-Mail-Adresse, noch einmal eingegeben").fill(lea.email.toUpperCase());
  await dialog.getByRole("button", { name: "Konto endgültig löschen" }).click();
  await dialog.getByText("Das Passwort stimmt nicht.").waitFor();
  await dialog.getByLabel("Ihr Passwort").fill(lea.password);
  await screenshot(page, "delete-account-de");
  await dialog.getByRole("button", { name: "Konto endgültig löschen" }).click();

  await page.getByRole("heading", { name: "Bei CloudHub anmelden" }).waitFor();
  await page.getByText("Ihr Konto wurde gelöscht.").waitFor();
  await page.getByLabel("E-Mail-Adresse").fill(lea.email);
  await page.getByLabel(/^Passwort$/).fill(lea.password);
  await page.getByRole("button", { name: "Anmelden" }).click();
  await page.getByText("E-Mail-Adresse oder Passwort stimmen nicht.").waitFor();
  assert.equal((await call("POST", "/auth/login", { body: lea })).status, 401);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a member deletes its account in Settings, leaving its customers; a customer's last admin is refused, naming that customer", async () => {
  const adminToken = await sessionOf(ADMIN);
  const max = unique("max");
  await memberOf(adminToken, ACME, max, { roles: ["Buyer"] });

  const last = await actor();
  await logIn(last.page, QUOTA_ADMIN, "300001");
  await last.page.goto(`${BASE}/#/c/300001/settings`);
  await last.page.getByRole("button", { name: "Delete my account" }).click();
  const refusedDialog = last.page.getByRole("dialog", { name: "Delete your account for good?" });
  await refusedDialog.getByLabel("Your email address, typed again").fill(QUOTA_ADMIN.email);
  await refusedDialog.getByLabel("Your password").fill(QUOTA_ADMIN.password);
  await refusedDialog.getByRole("button", { name: "Delete my account for good" }).click();
  await refusedDialog.getByText("You are the last admin of customer 300001: make someone else an admin there first. Nothing was deleted.").waitFor();
  await last.context.close();
  assert.equal((await call("POST", "/auth/login", { body: QUOTA_ADMIN })).status, 200, "still there");

  const { page, context, errors } = await actor();
  await logIn(page, { email: max, password: "a long new password" }, ACME);
  await page.goto(`${BASE}/#/c/${ACME}/settings`);
  await page.getByText(`Deleting your account also ends your access to every customer (${ACME}) at once`).waitFor();
  await page.getByRole("button", { name: "Delete my account" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete your account for good?" });
  await dialog.getByRole("button", { name: "Keep my account" }).click();
  await dialog.waitFor({ state: "detached" });
  await page.getByRole("button", { name: "Delete my account" }).click();
  await dialog.getByLabel("Your email address, typed again").fill(max);
  await dialog.getByLabel("Your password").fill("a long new password");
  await dialog.getByRole("button", { name: "Delete my account for good" }).click();
  await page.getByRole("heading", { name: "Log in to CloudHub" }).waitFor();
  await page.getByText("Your account has been deleted.").waitFor();
  assert.equal((await call("POST", "/auth/login", { body: { email: max, password: "a long new password" } })).status, 401);
  const users = await call("GET", `/customers/${ACME}/users?email=${encodeURIComponent(max)}`, { token: adminToken });
  assert.deepEqual(users.body.users, [], "no longer a member");
  assert.deepEqual(errors, []);
  await context.close();
});

test("an admin turns the accepted-invitation email off and on again in Settings", async () => {
  const { page, context, errors } = await actor();
  await logIn(page, ADMIN, ACME);
  await page.goto(`${BASE}/#/c/${ACME}/settings`);
  const toggle = page.getByLabel("Email me when someone accepts an invitation I sent");
  assert.equal(await toggle.isChecked(), true);
  await toggle.uncheck();
  await page.getByText("Saved.").waitFor();
  const adminToken = await sessionOf(ADMIN);
  assert.equal((await call("GET", "/me", { token: adminToken })).body.user.notifyOnAccept, false);
  await page.reload();
  assert.equal(await page.getByLabel("Email me when someone accepts an invitation I sent").isChecked(), false);
  await page.getByLabel("Email me when someone accepts an invitation I sent").check();
  await page.getByText("Saved.").waitFor();
  assert.equal((await call("GET", "/me", { token: adminToken })).body.user.notifyOnAccept, true);
  // A member without admin rights has no such setting.
  const member = unique("nia");
  await memberOf(adminToken, ACME, member, { roles: ["Buyer"] });
  const other = await actor();
  await logIn(other.page, { email: member, password: "a long new password" }, ACME);
  await other.page.goto(`${BASE}/#/c/${ACME}/settings`);
  await other.page.getByRole("heading", { name: "Cancel access to this customer" }).waitFor();
  assert.equal(await other.page.getByLabel("Email me when someone accepts an invitation I sent").count(), 0);
  await other.context.close();
  assert.deepEqual(errors, []);
  await context.close();
});
