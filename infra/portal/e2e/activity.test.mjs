// The activity log's screen (who did what, filters, CSV) and the invitation an email's button
// opens (the renewal request's: `{base}/customers/{c}/invitations/{id}`), through a log-in.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { AUDIT_ADMIN, BASE, DELTA, actor, call, dismissTour, invite, logIn, mailTo, memberOf, roleId, screenshot, sessionOf, unique } from "./support.mjs";

/** The log's entries of `customer` once the recorder has written `count` of them (it writes each
 * within a moment of its change, from the table's stream). */
async function entriesOnceRecorded(token, customer, count) {
  for (let attempt = 0; attempt < 60; attempt++) {
    const entries = (await call("GET", `/customers/${customer}/activity?limit=100`, { token })).body.entries;
    if (entries.length >= count) return entries;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the activity log of ${customer} never held ${count} entries`);
}

async function rowsShown(page, count) {
  await page.waitForFunction((n) => document.querySelectorAll("table.activity tbody tr").length === n, count);
}

test("the activity log says who invited, resent, deleted, accepted and assigned roles, filters by kind, address and day, and downloads CSV", async () => {
  const token = await sessionOf(AUDIT_ADMIN);
  const anna = unique("anna");
  const bert = unique("bert");
  const carl = unique("carl");
  const annas = await invite(token, DELTA, anna, { roles: ["Buyer"] });
  assert.equal((await call("POST", `/customers/${DELTA}/invitations/${annas.id}/resend`, { token })).status, 200);
  const berts = await invite(token, DELTA, bert);
  assert.equal((await call("DELETE", `/customers/${DELTA}/invitations/${berts.id}`, { token })).status, 204);
  await memberOf(token, DELTA, carl, { roles: ["Buyer"] });
  const members = (await call("GET", `/customers/${DELTA}/users`, { token })).body.users;
  const carlId = members.find((member) => member.email === carl).userId;
  const clerk = await roleId(token, DELTA, "Clerk");
  assert.equal((await call("PUT", `/customers/${DELTA}/users/${carlId}/roles`, { token, body: { roleIds: [clerk] } })).status, 200);
  // Sent, resent, sent, deleted, sent, accepted, assigned.
  await entriesOnceRecorded(token, DELTA, 7);

  const { page, context, errors } = await actor();
  await logIn(page, AUDIT_ADMIN);
  await page.getByRole("link", { name: "User Management" }).click();
  await page.getByRole("tab", { name: "Activity" }).click();
  const log = page.locator("table.activity");
  const admin = AUDIT_ADMIN.email;
  const row = (kind, subject) => log.locator(`tr[data-kind="${kind}"][data-subject="${subject}"]`);
  await row("invitation-sent", anna).getByText(`${admin} invited ${anna}.`).waitFor();
  await row("invitation-sent", anna).getByText("Buyer", { exact: true }).waitFor();
  await row("invitation-resent", anna).getByText(`${admin} sent the invitation to ${anna} again.`).waitFor();
  await row("invitation-deleted", bert).getByText(`${admin} deleted the invitation to ${bert}.`).waitFor();
  await row("invitation-accepted", carl).getByText(`${carl} accepted the invitation.`).waitFor();
  await row("roles-assigned", carl).getByText(`${admin} changed the roles of ${carl}.`).waitFor();
  await row("roles-assigned", carl).getByText("Buyer → Clerk").waitFor();
  // Newest first: the roles came last.
  assert.equal(await log.locator("tbody tr").first().getAttribute("data-kind"), "roles-assigned");
  await screenshot(page, "activity-log");

  const filters = page.locator("form.filters");
  await filters.getByLabel("What").selectOption({ label: "Invitations deleted" });
  await filters.getByRole("button", { name: "Show", exact: true }).click();
  await rowsShown(page, 1);
  await row("invitation-deleted", bert).waitFor();

  await filters.getByLabel("What").selectOption({ label: "Everything" });
  await filters.getByLabel("About the address").fill(anna.toUpperCase());
  await filters.getByRole("button", { name: "Show", exact: true }).click();
  await rowsShown(page, 2);
  assert.deepEqual(await log.locator("tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.kind)), ["invitation-resent", "invitation-sent"]);

  // The CSV holds the entries the filters show.
  const [download] = await Promise.all([page.waitForEvent("download"), filters.getByRole("button", { name: "Download as CSV" }).click()]);
  assert.equal(download.suggestedFilename(), `activity-${DELTA}.csv`);
  const lines = readFileSync(await download.path(), "utf8").trim().split(/\r?\n/);
  assert.match(lines[0], /^time,kind,actorUserId,actorEmail,subjectEmail,/);
  assert.equal(lines.length, 3, lines.join("\n"));
  assert.ok(lines[1].includes("invitation-resent") && lines[1].includes(anna), lines[1]);

  // Days: nothing happened from tomorrow on; a last day before the first is refused in a sentence.
  const day = (offset) => {
    const at = new Date(Date.now() + offset * 86_400_000);
    return [at.getFullYear(), at.getMonth() + 1, at.getDate()].map((n) => String(n).padStart(2, "0")).join("-");
  };
  await filters.getByLabel("About the address").fill("");
  await filters.getByLabel("From (day)").fill(day(1));
  await filters.getByRole("button", { name: "Show", exact: true }).click();
  await page.getByText("No activity matches.").waitFor();
  await filters.getByLabel("To (day, inclusive)").fill(day(-1));
  await filters.getByRole("button", { name: "Show", exact: true }).click();
  await page.getByText("The first day must be before the last one, and within the last year.").waitFor();
  // The download with those days is refused in the same sentence (its answer read as text).
  const refused = page.waitForResponse((answer) => answer.url().includes("format=csv"));
  await filters.getByRole("button", { name: "Download as CSV" }).click();
  assert.equal((await refused).status(), 400);
  await page.waitForFunction(() => !document.querySelector("form.filters button[disabled]"));
  assert.equal(await page.locator(".notice-error").textContent(), "The first day must be before the last one, and within the last year.");
  await filters.getByLabel("From (day)").fill(day(0));
  await filters.getByLabel("To (day, inclusive)").fill(day(0));
  await filters.getByRole("button", { name: "Show", exact: true }).click();
  await rowsShown(page, 7);
  assert.deepEqual(errors, []);
  await context.close();
});

test("an email's link to one invitation opens it in User Management after the log-in, where it is sent again", async () => {
  const token = await sessionOf(AUDIT_ADMIN);
  const dora = unique("dora");
  const doras = await invite(token, DELTA, dora, { roles: ["Clerk"] });
  const first = await mailTo(dora);

  const { page, context, errors } = await actor();
  // The renewal request's email links here (functions/mailer; its API test checks the link).
  await page.goto(`${BASE}/#/customers/${DELTA}/invitations/${doras.id}`);
  await page.getByLabel("Email address").fill(AUDIT_ADMIN.email);
  await page.getByLabel("Password").fill(AUDIT_ADMIN.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForFunction((hash) => location.hash === hash, `#/c/${DELTA}/user-management/invitations/${doras.id}`);
  await dismissTour(page);
  const card = page.locator(`.focus[data-invitation="${doras.id}"]`);
  await card.getByRole("heading", { name: `The invitation to ${dora}` }).waitFor();
  await card.getByText("Its link works until").waitFor();
  await card.getByText("Clerk").waitFor();
  await card.getByRole("button", { name: "Send again" }).click();
  await page.getByText(`The invitation to ${dora} was sent again; its new link works until`).waitFor();
  await mailTo(dora, /./, { after: first.id });
  await screenshot(page, "one-invitation");

  // Deleted from the card (after the confirmation), it says it is closed and offers nothing more.
  await card.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog", { name: "Delete the invitation?" }).getByRole("button", { name: "Delete" }).click();
  await card.getByText("This invitation is closed: Deleted.").waitFor();
  assert.equal(await card.getByRole("button").count(), 0);

  // An id that names no invitation of the customer is said so.
  await page.goto(`${BASE}/#/customers/${DELTA}/invitations/01KAWDEM0ADM1N000000000001`);
  await page.locator(".notice-error").waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});
