// What the browser tests share: Debian's Chromium driven by playwright-core, a page per actor,
// the local stack's API and mailbox. Started by infra/e2e, which sets the environment below.
//   CLOUDHUB_E2E_URL          the local stack (portal, API, mailbox), e.g. http://127.0.0.1:3000
//   CLOUDHUB_E2E_FUTURE_URL   a local stack on the same tables, its clock 25 hours ahead
//   CLOUDHUB_E2E_MAILBOX      its mailbox folder
//   CLOUDHUB_E2E_SCREENSHOTS  where screenshots go (README's, and a failing test's)
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

export const BASE = process.env.CLOUDHUB_E2E_URL ?? "http://127.0.0.1:3000";
/** A second local stack on the same tables whose clock runs 25 hours ahead (today's links have expired there). */
export const FUTURE = process.env.CLOUDHUB_E2E_FUTURE_URL ?? "";
export const MAILBOX = process.env.CLOUDHUB_E2E_MAILBOX ?? ".local/mailbox";
export const SCREENSHOTS = process.env.CLOUDHUB_E2E_SCREENSHOTS ?? "";
export const ADMIN = { email: "admin@acme.example", password: "cloudhub-demo-admin" };
export const ACME = "100234";
/** Customers infra/e2e adds with the operator command; the demo admin is admin of these too. */
export const BETA = "200001";
export const GAMMA = "200002";
export const QUOTA_ADMIN = { email: "quota.admin@e2e.example", password: "a long quota admin password" };
/** The activity log's own customer and admin (its log holds only what its tests did). */
export const DELTA = "300002";
export const AUDIT_ADMIN = { email: "audit.admin@e2e.example", password: "a long audit admin password" };

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: execFileSync("sh", ["-c", "command -v chromium"]).toString().trim(),
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
});

after(async () => {
  await browser?.close();
});

/** A fresh browser profile (its own session storage) with one page. */
export async function actor({ width = 1280, height = 860, locale = "en-GB" } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, locale });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  return { context, page, errors };
}

let counter = 0;
/** An address no other test uses. */
export function unique(name) {
  counter += 1;
  return `${name}.${Date.now().toString(36)}${counter}@e2e.example`;
}

export async function screenshot(page, name) {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png` });
}

/** Logs in on the portal's log-in page (of `origin`); with several customers, picks `customer`. */
export async function logIn(page, { email, password }, customer, { origin = BASE, tour = "dismiss" } = {}) {
  await page.goto(`${origin}/#/login`);
  await page.getByLabel(/Email address|E-Mail-Adresse/).fill(email);
  await page.getByLabel(/^(Password|Passwort)$/).fill(password);
  await page.getByRole("button", { name: /^(Log in|Anmelden)$/ }).click();
  await page.waitForFunction(() => !location.hash.startsWith("#/login"));
  if (customer && (await page.evaluate(() => location.hash)) === "#/choose") {
    await page.locator(`a[href="#/c/${customer}/home"]`).click();
  }
  if (tour === "dismiss") await dismissTour(page);
}

/** Steps through the welcome tour, if the log-in shows one (it shows once per new area). */
export async function dismissTour(page) {
  await page.waitForLoadState("networkidle");
  const tour = page.getByRole("dialog", { name: /Welcome tour|Willkommenstour/ });
  while (await tour.isVisible()) {
    await tour.getByRole("button", { name: /Next|Weiter|Got it|Verstanden/ }).click();
  }
  await tour.waitFor({ state: "detached" });
}

/** The newest email to `to` whose text matches `pattern`, waiting for it to arrive. */
export async function mailTo(to, pattern = /./, { timeout = 15_000, after = "" } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const mails = readdirSync(MAILBOX)
      .filter((name) => name.endsWith(".txt"))
      .sort()
      .reverse()
      .map((name) => ({ id: name.slice(0, -4), text: readFileSync(`${MAILBOX}/${name}`, "utf8") }))
      .filter((mail) => mail.id > after && mail.text.includes(`\nTo: ${to}\n`) && pattern.test(mail.text));
    if (mails.length > 0) return mails[0];
    if (Date.now() > deadline) throw new Error(`no email to ${to} matching ${pattern}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The invitation link's token in an email. */
export function tokenOf(mail) {
  const match = /#\/invitations\/([A-Za-z0-9._-]+)/.exec(mail.text);
  if (!match) throw new Error(`no link in ${mail.text}`);
  return match[1];
}

/** The HTTP API, straight (for what a test needs as given, not as clicked). */
export async function call(method, path, { token, body } = {}) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

export async function sessionOf({ email, password }) {
  const answer = await call("POST", "/auth/login", { body: { email, password } });
  if (answer.status !== 200) throw new Error(`log-in of ${email}: ${JSON.stringify(answer)}`);
  return answer.body.sessionToken;
}

export async function roleId(token, customer, name) {
  const roles = (await call("GET", `/customers/${customer}/roles`, { token })).body.roles;
  return roles.find((role) => role.name === name).id;
}

/** Invites `email` to `customer` through the API and accepts as a new account; its session. */
export async function memberOf(adminToken, customer, email, { roles = [], password = "a long new password" } = {}) {
  const roleIds = await Promise.all(roles.map((name) => roleId(adminToken, customer, name)));
  const invited = await call("POST", `/customers/${customer}/invitations`, { token: adminToken, body: { email, roleIds } });
  if (invited.status !== 201) throw new Error(JSON.stringify(invited));
  const token = tokenOf(await mailTo(email, new RegExp(`\\(customer number ${customer}\\)|Kundennummer ${customer}`)));
  const existing = (await call("GET", `/invitations/${token}`)).body.accountExists;
  const accepted = await call("POST", `/invitations/${token}/accept`, { body: existing ? { password } : { password, language: "en" } });
  if (accepted.status !== 200 && accepted.status !== 201) throw new Error(JSON.stringify(accepted));
  return accepted.body.sessionToken;
}

/** Whether the page scrolls sideways (its content wider than the viewport). */
export async function horizontalOverflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** Invites `email` to `customer` through the API (no accept); the invitation. */
/** The invitations table's counts of `customer` once the recorder has read the writes before
 * (it keeps them from the table's stream, within a moment): two reads half a second apart agree. */
export async function settledCounts(token, customer) {
  let last = null;
  for (let attempt = 0; attempt < 40; attempt++) {
    const counts = (await call("GET", `/customers/${customer}/invitations?limit=1`, { token })).body.counts;
    if (last && last.pending === counts.pending && last.expired === counts.expired) return counts;
    last = counts;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the counts of ${customer} never settled: ${JSON.stringify(last)}`);
}

export async function invite(adminToken, customer, email, { roles = [] } = {}) {
  const roleIds = await Promise.all(roles.map((name) => roleId(adminToken, customer, name)));
  const invited = await call("POST", `/customers/${customer}/invitations`, { token: adminToken, body: { email, roleIds } });
  if (invited.status !== 201) throw new Error(JSON.stringify(invited));
  return invited.body.invitation;
}

/** An account with no customer: invited to ACME, accepted, left again; its password. */
export async function accountWithoutCustomer(adminToken, email, password = "a long new password") {
  const token = await memberOf(adminToken, ACME, email, { password });
  const left = await call("POST", `/me/customers/${ACME}/leave`, { token, body: { confirmCustomerNumber: ACME } });
  if (left.status !== 200) throw new Error(JSON.stringify(left));
  return { email, password };
}
