// The Invite user dialog's refusals as sentences, the invitations table (resend with the
// circle-arrow, delete with the rubbish bin after a confirmation), the quota, and the roles.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ACME, ADMIN, BASE, BETA, QUOTA_ADMIN, actor, call, invite, logIn, mailTo, memberOf, screenshot, sessionOf, settledCounts, tokenOf, unique } from "./support.mjs";

/** Waits until the table shows `count` rows (a search or filter narrows it after its answer). */
async function rowsShown(page, count) {
  await page.waitForFunction((n) => document.querySelectorAll("tbody tr").length === n, count);
}

async function dialogOf(page) {
  await page.getByRole("button", { name: "Invite user" }).click();
  return page.getByRole("dialog", { name: "Invite a user" });
}

test("the Invite user dialog says each refusal in a sentence and offers to resend a pending invitation", async () => {
  const adminToken = await sessionOf(ADMIN);
  const member = unique("member");
  await memberOf(adminToken, ACME, member);
  const pending = unique("pending");
  assert.equal((await call("POST", `/customers/${ACME}/invitations`, { token: adminToken, body: { email: pending } })).status, 201);

  const { page, context, errors } = await actor();
  await logIn(page, ADMIN, ACME);
  await page.goto(`${BASE}/#/c/${ACME}/user-management/invitations`);
  const dialog = await dialogOf(page);
  const email = dialog.getByLabel("Email address (required)");
  const send = dialog.getByRole("button", { name: "Send invitation" });
  await send.click();
  await dialog.getByText("Please enter the email address: it is required.").waitFor();
  await email.fill("not an email");
  await send.click();
  await dialog.getByText("That is not an email address CloudHub can send to.").waitFor();
  await email.fill(member);
  await send.click();
  await dialog.getByText("This person is already a member of this customer.").waitFor();
  await email.fill(pending);
  await send.click();
  await dialog.getByText("This address already has a pending invitation to this customer.").waitFor();
  await screenshot(page, "invite-refused");
  const before = await mailTo(pending);
  await dialog.getByRole("button", { name: "Send it again" }).click();
  await dialog.getByText(`The invitation to ${pending} has been sent again.`).waitFor();
  await mailTo(pending, /./, { after: before.id });
  await dialog.getByRole("button", { name: "Invite another user" }).click();
  assert.equal(await dialog.getByLabel("Email address (required)").inputValue(), "");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  assert.deepEqual(errors, []);
  await context.close();
});

test("in the invitations table an invitation is resent with the circle-arrow and deleted with the rubbish bin after a confirmation", async () => {
  const adminToken = await sessionOf(ADMIN);
  const frank = unique("frank");
  assert.equal((await call("POST", `/customers/${ACME}/invitations`, { token: adminToken, body: { email: frank } })).status, 201);
  const first = await mailTo(frank);

  const { page, context, errors } = await actor();
  await logIn(page, ADMIN, ACME);
  await page.goto(`${BASE}/#/c/${ACME}/user-management/invitations`);
  const row = page.locator(`tr[data-email="${frank}"]`);
  await row.getByText("Pending").waitFor();
  const quota = page.locator(".quota");
  const remaining = Number(await quota.getAttribute("data-remaining"));
  await row.getByRole("button", { name: `Resend invitation to ${frank}` }).click();
  await page.getByText(`The invitation to ${frank} was sent again; its new link works until`).waitFor();
  await page.locator(`.quota[data-remaining="${remaining - 1}"]`).waitFor();
  const second = await mailTo(frank, /./, { after: first.id });
  // The first email's link now says that a newer one replaced it (and offers no renewal).
  const invitee = await context.newPage();
  await invitee.goto(`${BASE}/#/invitations/${tokenOf(first)}`);
  await invitee.getByText("A newer invitation email replaced this link. Please open the link in your latest invitation email.").waitFor();
  assert.equal(await invitee.getByRole("button", { name: "Ask for a new link" }).count(), 0);

  await row.getByRole("button", { name: `Delete invitation to ${frank}` }).click();
  const confirm = page.getByRole("dialog", { name: "Delete the invitation?" });
  await confirm.getByText(`The invitation to ${frank} will be deleted and its link stops working at once.`).waitFor();
  await screenshot(page, "delete-confirmation");
  await confirm.getByRole("button", { name: "Cancel" }).click();
  assert.equal(await row.count(), 1, "cancelled: still there");
  await row.getByRole("button", { name: `Delete invitation to ${frank}` }).click();
  await confirm.getByRole("button", { name: "Delete" }).click();
  await page.getByText(`The invitation to ${frank} was deleted.`).waitFor();
  await row.waitFor({ state: "detached" });
  // The newest link now says the invitation was withdrawn.
  await invitee.goto(`${BASE}/#/invitations/${tokenOf(second)}`);
  await invitee.getByText("An admin withdrew this invitation. Please ask them if you should be invited again.").waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test("the 51st invitation of the day is refused with when more can be sent", async () => {
  const token = await sessionOf(QUOTA_ADMIN);
  const customer = "300001";
  const quota = (await call("GET", `/customers/${customer}/invitation-quota`, { token })).body;
  for (let i = 0; i < quota.remaining - 1; i += 1) {
    const invited = await call("POST", `/customers/${customer}/invitations`, { token, body: { email: unique("q") } });
    assert.equal(invited.status, 201, JSON.stringify(invited));
  }
  const { page, context } = await actor();
  await logIn(page, QUOTA_ADMIN);
  await page.goto(`${BASE}/#/c/${customer}/user-management/invitations`);
  await page.getByText("Invitations left today: 1 of 50").waitFor();
  let dialog = await dialogOf(page);
  await dialog.getByLabel("Email address (required)").fill(unique("fiftieth"));
  await dialog.getByRole("button", { name: "Send invitation" }).click();
  await dialog.getByText("has been sent.").waitFor();
  await dialog.getByRole("button", { name: "Close" }).click();
  await page.getByText("Invitations left today: 0 of 50").waitFor();
  dialog = await dialogOf(page);
  await dialog.getByLabel("Email address (required)").fill(unique("fifty-first"));
  await dialog.getByRole("button", { name: "Send invitation" }).click();
  await dialog.getByText(/You have sent the 50 invitations allowed per day\. You can send more from .+\./).waitFor();
  await screenshot(page, "quota-refused");
  await dialog.getByRole("button", { name: "Cancel" }).click();

  // The day's invitations page by 25: "Show more" follows the cursor until the last page.
  const listed = (await settledCounts(token, customer)).pending;
  assert.ok(listed > 25 && listed <= 50, `${listed}`);
  // The page read its counts before the recorder had counted the last invitation: read again.
  await page.reload();
  await page.getByText(`${listed} pending, 0 expired`).waitFor();
  await rowsShown(page, 25);
  await page.getByRole("button", { name: "Show more" }).click();
  await rowsShown(page, listed);
  // The last page, full or not, has no cursor: the button goes.
  assert.equal(await page.getByRole("button", { name: "Show more" }).count(), 0);
  await context.close();
});

test("roles are created, edited and deleted, each change showing the members and open invitations it affects first", async () => {
  const adminToken = await sessionOf(ADMIN);
  const { page, context, errors } = await actor();
  await logIn(page, ADMIN, ACME);
  await page.goto(`${BASE}/#/c/${ACME}/user-management/roles`);
  const name = `Auditor ${Date.now().toString(36)}`;
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Documents").check();
  await page.getByRole("button", { name: "Create role" }).click();
  await page.getByText(`The role ${name} was created.`).waitFor();
  const row = page.locator(`tr[data-role="${name}"]`);
  await row.waitFor();

  // An open invitation with the role: the edit and the delete say so before they are confirmed.
  const id = (await call("GET", `/customers/${ACME}/roles`, { token: adminToken })).body.roles.find((r) => r.name === name).id;
  assert.equal((await call("POST", `/customers/${ACME}/invitations`, { token: adminToken, body: { email: unique("auditor"), roleIds: [id] } })).status, 201);
  await page.reload();
  await row.getByRole("button", { name: "Edit" }).click();
  const edit = page.getByRole("dialog", { name: `Edit the role ${name}` });
  await edit.getByText("This change affects 0 members at once and 1 open invitations").waitFor();
  await screenshot(page, "role-edit");
  await edit.getByLabel("Invoices").check();
  await edit.getByRole("button", { name: "Save" }).click();
  await page.getByText(`The role ${name} was saved (0 members and 1 open invitations affected).`).waitFor();
  await row.getByText("Documents, Invoices").or(row.getByText("Invoices, Documents")).waitFor();
  await row.getByRole("button", { name: "Delete" }).click();
  const remove = page.getByRole("dialog", { name: `Delete the role ${name}?` });
  await remove.getByText("1 open invitations grant this role; they will no longer grant it.").waitFor();
  assert.equal(await remove.getByText("members hold this role").count(), 0);
  await remove.getByRole("button", { name: "Delete" }).click();
  await page.getByText(`The role ${name} was deleted (0 members and 1 open invitations changed).`).waitFor();
  await row.waitFor({ state: "detached" });
  assert.deepEqual(errors, []);
  await context.close();
});

test("the invitations table shows outcomes by status (when, by whom), searches by the start of the email and counts pending and expired", async () => {
  const adminToken = await sessionOf(ADMIN);
  const tag = unique("outcome").split("@")[0];
  const [accepted, declined, deleted, pending] = ["acc", "dec", "del", "pend"].map((kind) => `${tag}-${kind}@e2e.example`);
  await memberOf(adminToken, ACME, accepted);
  const decliner = await memberOf(adminToken, BETA, declined);
  const toDecline = await invite(adminToken, ACME, declined);
  assert.equal((await call("POST", `/me/invitations/${ACME}/${toDecline.id}/decline`, { token: decliner })).status, 204);
  const toDelete = await invite(adminToken, ACME, deleted);
  assert.equal((await call("DELETE", `/customers/${ACME}/invitations/${toDelete.id}`, { token: adminToken })).status, 204);
  await invite(adminToken, ACME, pending);

  const { page, context, errors } = await actor();
  await logIn(page, ADMIN, ACME);
  const counts = await settledCounts(adminToken, ACME);
  await page.goto(`${BASE}/#/c/${ACME}/user-management/invitations`);
  await page.getByText(`${counts.pending} pending, ${counts.expired} expired`).waitFor();
  await page.getByLabel("Email starts with").fill(tag.toUpperCase());
  await rowsShown(page, 1);
  await page.locator(`tr[data-email="${pending}"][data-status="pending"]`).waitFor();

  const filter = page.locator("label.filter select");
  for (const [status, email, label, by] of [
    ["accepted", accepted, "Accepted", accepted],
    ["declined", declined, "Declined", declined],
    ["deleted", deleted, "Deleted", ADMIN.email],
  ]) {
    await filter.selectOption(status);
    const row = page.locator(`tr[data-email="${email}"][data-status="${status}"]`);
    await row.waitFor();
    await rowsShown(page, 1);
    assert.equal(await row.locator(".badge").textContent(), label);
    assert.equal(await row.locator(".outcome-by").textContent(), by);
    assert.match(await row.locator(".outcome-when").textContent(), /\d{4}/, "when");
    assert.equal(await row.getByRole("button").count(), 0, "no resend or delete of an outcome");
    if (status === "accepted") await screenshot(page, "invitations-accepted");
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test("several addresses in the Invite user dialog are invited in one request, one sentence per row", async () => {
  const adminToken = await sessionOf(ADMIN);
  const member = unique("batch-member");
  await memberOf(adminToken, ACME, member);
  const [first, second] = [unique("batch-a"), unique("batch-b")];

  const { page, context, errors } = await actor();
  await logIn(page, ADMIN, ACME);
  await page.goto(`${BASE}/#/c/${ACME}/user-management/invitations`);
  const dialog = await dialogOf(page);
  await dialog.getByLabel("Email address (required)").fill(`${first}, ${second}\nnot-an-email\n${member}; ${first.toUpperCase()}`);
  await dialog.getByLabel("Buyer", { exact: true }).check();
  await dialog.getByRole("button", { name: "Send invitation" }).click();
  await dialog.getByText("2 invited, 2 refused.").waitFor();
  const row = (index) => dialog.locator(`li[data-row="${index}"]`);
  assert.equal(await row(0).textContent(), `${first}: the invitation has been sent.`);
  assert.equal(await row(1).textContent(), `${second}: the invitation has been sent.`);
  assert.equal(await row(2).textContent(), "not-an-email: not invited. That is not an email address CloudHub can send to. Please check it.");
  assert.equal(await row(3).textContent(), `${member}: not invited. This person is already a member of this customer.`);
  assert.equal(await row(4).textContent(), `${first}: the same address as row 1, invited once.`);
  await screenshot(page, "batch-invite");
  await mailTo(first);
  await mailTo(second);
  await dialog.getByRole("button", { name: "Go to the invitations" }).click();
  const invited = page.locator(`tr[data-email="${second}"]`);
  await invited.getByText("Buyer").waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test("the users table searches by the start of the email and filters by role and access, with the total of members", async () => {
  const adminToken = await sessionOf(ADMIN);
  const tag = unique("users").split("@")[0];
  const [restricted, buyer] = [`${tag}-r@e2e.example`, `${tag}-b@e2e.example`];
  await memberOf(adminToken, ACME, restricted);
  await memberOf(adminToken, ACME, buyer, { roles: ["Buyer"] });
  const total = (await call("GET", `/customers/${ACME}/users`, { token: adminToken })).body.total;

  const { page, context, errors } = await actor();
  await logIn(page, ADMIN, ACME);
  await page.goto(`${BASE}/#/c/${ACME}/user-management/users`);
  await page.getByText(`${total} members in all`).waitFor();
  await page.getByLabel("Email starts with").fill(tag);
  const rows = page.locator("tbody tr");
  await rowsShown(page, 2);
  await page.locator(`tr[data-email="${restricted}"]`).waitFor();
  await page.locator(`tr[data-email="${buyer}"]`).waitFor();

  await page.getByLabel(/^Access/).selectOption("restricted");
  await page.locator(`tr[data-email="${buyer}"]`).waitFor({ state: "detached" });
  assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.email)), [restricted]);

  await page.getByLabel(/^Access/).selectOption("");
  await page.getByLabel(/^Role(?!s)/).selectOption({ label: "Buyer" });
  await page.locator(`tr[data-email="${restricted}"]`).waitFor({ state: "detached" });
  await page.locator(`tr[data-email="${buyer}"]`).waitFor();
  await rowsShown(page, 1);
  await page.getByLabel("Admins only").check();
  await page.getByText("No members match.").waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});
