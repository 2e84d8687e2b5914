// An admin invites; the invited person opens the email from the mailbox and accepts, as a new
// user or with an existing account; restricted access until rights arrive; the welcome tour.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ACME,
  ADMIN,
  BASE,
  BETA,
  actor,
  call,
  dismissTour,
  horizontalOverflow,
  logIn,
  mailTo,
  memberOf,
  screenshot,
  sessionOf,
  tokenOf,
  unique,
} from "./support.mjs";

async function openUserManagement(page, customer = ACME, tab = "users") {
  await page.goto(`${BASE}/#/c/${customer}/user-management/${tab}`);
  await page.getByRole("heading", { name: /User Management|Benutzerverwaltung/ }).waitFor();
}

async function inviteInDialog(page, email, roles) {
  await page.getByRole("button", { name: "Invite user" }).click();
  const dialog = page.getByRole("dialog", { name: "Invite a user" });
  await dialog.getByLabel("Email address (required)").fill(email);
  for (const role of roles) await dialog.getByLabel(role, { exact: true }).check();
  await dialog.getByLabel("Language of the email").selectOption("en");
  await dialog.getByRole("button", { name: "Send invitation" }).click();
  return dialog;
}

/** Opens the newest email to `to` on the mailbox page and clicks its button. */
async function openMailAndClick(page, to, button) {
  const mail = await mailTo(to);
  await page.goto(`${BASE}/_mailbox`);
  await page.locator(`a[href="/_mailbox/${mail.id}"]`).click();
  await page.getByRole("link", { name: button }).click();
  await page.waitForURL(/#\/invitations\//);
  return mail;
}

test("an admin invites with a role; the invitee accepts from the email as a new user and is toured through that area", async () => {
  const anna = unique("anna");
  const admin = await actor();
  await logIn(admin.page, ADMIN, ACME);
  await screenshot(admin.page, "home");
  await openUserManagement(admin.page);
  await screenshot(admin.page, "user-management");
  const dialog = await inviteInDialog(admin.page, anna, ["Buyer"]);
  await dialog.getByText(`The invitation to ${anna} has been sent.`).waitFor();
  for (const next of ["Invite another user", "Go to the invitations", "Close"]) {
    assert.ok(await dialog.getByRole("button", { name: next }).isVisible(), next);
  }
  await screenshot(admin.page, "invitation-sent");
  await dialog.getByRole("button", { name: "Go to the invitations" }).click();
  const row = admin.page.locator(`tr[data-email="${anna}"]`);
  await row.getByText("Pending").waitFor();
  assert.match(await row.textContent(), /Buyer/);
  await screenshot(admin.page, "invitations");

  const invitee = await actor();
  await openMailAndClick(invitee.page, anna, "Accept the invitation");
  const page = invitee.page;
  await page.getByText(`The invitation is for ${anna}.`).waitFor();
  assert.match(await page.textContent("main"), /ACME Maschinenbau GmbH \(customer number 100234\)/);
  assert.match(await page.textContent("main"), /It grants these roles: Buyer\./);
  assert.match(await page.textContent("main"), /The link works until/);
  await screenshot(page, "invitation-page");
  await page.getByLabel("Choose a password (10 to 128 characters)").fill("short");
  await page.getByRole("button", { name: "Create account and accept" }).click();
  await page.getByText("The password must have 10 to 128 characters.").waitFor();
  await page.getByLabel("Choose a password (10 to 128 characters)").fill("a long new password");
  await page.getByRole("button", { name: "Create account and accept" }).click();
  const tour = page.getByRole("dialog", { name: "Welcome tour" });
  await tour.getByText("Orders: follow your orders").waitFor();
  assert.equal(await tour.locator("li").count(), 1, "only the area the role opens");
  await screenshot(page, "welcome-tour");
  await tour.getByRole("button", { name: "Got it" }).click();
  await tour.waitFor({ state: "detached" });
  assert.ok(await page.getByRole("link", { name: "Orders" }).isVisible());
  assert.equal(await page.locator(".banner").count(), 0, "rights, so no banner");
  // The welcome email arrived; the list shows the invitation no more (accepted).
  await mailTo(anna, /Welcome|Willkommen/);
  await admin.page.reload();
  await admin.page.locator("table, p.muted").first().waitFor();
  assert.equal(await admin.page.locator(`tr[data-email="${anna}"]`).count(), 0);
  assert.deepEqual(invitee.errors, []);
  await admin.context.close();
  await invitee.context.close();
});

test("invited without rights, in German: the restricted portal and its banner, gone once a role is assigned; the tour at the next log-in", async () => {
  const bert = unique("bert");
  const adminToken = await sessionOf(ADMIN);
  const invited = await call("POST", `/customers/${ACME}/invitations`, {
    token: adminToken,
    body: { email: bert, roleIds: [], language: "de" },
  });
  assert.equal(invited.status, 201);
  const invitee = await actor({ locale: "de-DE" });
  const page = invitee.page;
  await openMailAndClick(page, bert, "Einladung annehmen");
  await page.getByText(`Die Einladung gilt für ${bert}.`).waitFor();
  assert.match(await page.textContent("main"), /Sie gewährt noch keine Rollen/);
  await page.getByLabel("Wählen Sie ein Passwort (10 bis 128 Zeichen)").fill("ein langes neues Passwort");
  await page.getByRole("button", { name: "Konto anlegen und annehmen" }).click();
  const banner = page.locator(".banner");
  await banner.getByText("Sie haben für diesen Kunden noch keine Rechte.").waitFor();
  const nav = await page.locator("nav.sidebar a").allTextContents();
  assert.deepEqual(nav, ["Startseite", "FAQ", "Einstellungen", "Feedback"]);
  await page.getByRole("heading", { name: "Nützliche Links" }).waitFor();
  assert.equal(await page.getByRole("dialog").count(), 0, "no tour without rights");
  await screenshot(page, "restricted-portal-de");
  // An area the member cannot reach leads home.
  await page.goto(`${BASE}/#/c/${ACME}/orders`);
  await page.waitForURL(/\/home$/);

  // The admin assigns a role in the users table.
  const admin = await actor();
  await logIn(admin.page, ADMIN, ACME);
  await openUserManagement(admin.page);
  const row = admin.page.locator(`tr[data-email="${bert}"]`);
  await row.getByText("Restricted: no rights yet").waitFor();
  await row.getByRole("button", { name: "Assign roles" }).click();
  const assign = admin.page.getByRole("dialog", { name: `Roles of ${bert}` });
  await assign.getByLabel("Buyer", { exact: true }).check();
  await assign.getByRole("button", { name: "Save" }).click();
  await admin.page.getByText(`The roles of ${bert} are saved.`).waitFor();
  await row.getByText("Full").waitFor();

  // The banner disappears by itself, and the area appears; the tour waits for the next log-in.
  await banner.waitFor({ state: "detached", timeout: 10_000 });
  await page.getByRole("link", { name: "Bestellungen" }).waitFor();
  assert.equal(await page.getByRole("dialog").count(), 0);
  await page.getByRole("button", { name: "Abmelden" }).click();
  await logIn(page, { email: bert, password: "ein langes neues Passwort" }, ACME, { tour: "keep" });
  const tour = page.getByRole("dialog", { name: "Willkommenstour" });
  await tour.getByText("Bestellungen: Ihre Bestellungen").waitFor();
  assert.equal(await tour.locator("li").count(), 1);
  await tour.getByRole("button", { name: "Verstanden" }).click();
  await tour.waitFor({ state: "detached" });
  assert.deepEqual(invitee.errors, []);
  await admin.context.close();
  await invitee.context.close();
});

test("an existing user accepts by logging in; a session of another account is named; a used link is explained", async () => {
  const carla = unique("carla");
  const adminToken = await sessionOf(ADMIN);
  await memberOf(adminToken, ACME, carla, { roles: ["Buyer"] });
  const dora = unique("dora");
  await memberOf(adminToken, ACME, dora);

  // Carla is invited to a second customer: her account exists, so the page asks for its password.
  const buyer = (await call("GET", `/customers/${BETA}/roles`, { token: adminToken })).body.roles.find((r) => r.name === "Buyer");
  assert.equal((await call("POST", `/customers/${BETA}/invitations`, { token: adminToken, body: { email: carla, roleIds: [buyer.id] } })).status, 201);
  const link = tokenOf(await mailTo(carla, /customer number 200001/));

  // Logged in as Dora, the page says whose invitation it is and offers to switch.
  const browser = await actor();
  const page = browser.page;
  await logIn(page, { email: dora, password: "a long new password" }, ACME);
  await page.goto(`${BASE}/#/invitations/${link}`);
  await page.getByText(`You are logged in as ${dora}, but this invitation is for ${carla}.`).waitFor();
  await screenshot(page, "invitation-other-account");
  await page.getByRole("button", { name: `Log out and continue as ${carla}` }).click();
  await page.getByRole("heading", { name: "You already have a CloudHub account" }).waitFor();
  await page.getByLabel("Password").fill("a wrong password!");
  await page.getByRole("button", { name: "Log in and accept" }).click();
  await page.getByText("The email address or the password is not right.").waitFor();
  await page.getByLabel("Password").fill("a long new password");
  await page.getByRole("button", { name: "Log in and accept" }).click();
  await page.waitForURL(new RegExp(`#/c/${BETA}/home$`));
  await dismissTour(page);
  assert.match(await page.textContent("main"), /Beta Logistik AG \(customer number 200001\)/);
  // Two customers now: Change customer is offered.
  await page.getByRole("link", { name: "Change customer" }).click();
  await page.getByRole("heading", { name: "Choose a customer" }).waitFor();
  await screenshot(page, "choose-customer");

  // The link worked once.
  await page.goto(`${BASE}/#/invitations/${link}`);
  await page.getByRole("heading", { name: "This link does not work any more" }).waitFor();
  await page.getByText("This invitation has been accepted already. Log in to use CloudHub.").waitFor();
  assert.deepEqual(browser.errors, []);
  await browser.context.close();
});

// Every kind of email but one: the invitation, the welcome, the admin's "joined" (notifyOnAccept
// is on by default) and "left", the account's deletion. The renewal request's needs a link a day
// old: renewal.test.mjs checks it, from the stack whose clock runs ahead.
test("every email fits a phone: no sideways scrolling at 390 px", async () => {
  const erik = unique("erik");
  const password = "a long new password";
  const adminToken = await sessionOf(ADMIN);
  const session = await memberOf(adminToken, ACME, erik, { roles: ["Buyer", "Accounting"], password });
  const subject = (text) => new RegExp(`\nSubject: ${text.replace(/[.]/g, "\\.")}`);
  // The "joined" email is owed only while the membership lasts: it has come before erik leaves.
  const joined = await mailTo(ADMIN.email, subject(`${erik} joined`));
  const left = await call("POST", `/me/customers/${ACME}/leave`, { token: session, body: { confirmCustomerNumber: ACME } });
  assert.equal(left.status, 200);
  const deleted = await call("DELETE", "/me", { token: session, body: { confirmEmail: erik, password } });
  assert.equal(deleted.status, 200, JSON.stringify(deleted));
  const phone = await actor({ width: 390, height: 844 });
  const mails = [
    await mailTo(erik, /Accept the invitation|Einladung annehmen/),
    await mailTo(erik, /Welcome|Willkommen/),
    joined,
    await mailTo(ADMIN.email, subject(`${erik} left customer`)),
    await mailTo(erik, subject("Your CloudHub account was deleted")),
  ];
  for (const mail of mails) {
    await phone.page.goto(`${BASE}/_mailbox/${mail.id}`);
    assert.equal(await horizontalOverflow(phone.page), 0, `${mail.text.split("\n")[2]} scrolls sideways`);
  }
  await phone.page.goto(`${BASE}/_mailbox/${mails[0].id}`);
  const text = await phone.page.textContent("body");
  assert.match(text, /with the roles Accounting, Buyer|mit den Rollen Accounting, Buyer/, "the invitation names its roles");
  await screenshot(phone.page, "invitation-email-phone");
  await phone.context.close();
});
