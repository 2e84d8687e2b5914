// The Invite user dialog's refusals as sentences, the invitations table (resend with the
// circle-arrow, delete with the rubbish bin after a confirmation), the quota, and the roles.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ACME, ADMIN, BASE, QUOTA_ADMIN, actor, call, logIn, mailTo, memberOf, screenshot, sessionOf, unique } from "./support.mjs";

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
  await mailTo(frank, /./, { after: first.id });

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
