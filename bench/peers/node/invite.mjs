// Peer of functions/invite, as a team would write it on Node.js 20 with AWS SDK v3: the same items
// and conditions in one TransactWriteItems, answered 201 with the same JSON. Left out: re-inviting
// an expired invitation, and reading the link key from Secrets Manager (it comes from the
// environment). A benchmark fixture (bench/run.py), not a function of CloudHub.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { DynamoDBClient, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";

const TABLE = process.env.DATA_TABLE_NAME;
const LINK_KEY_ID = process.env.LINK_KEY_ID;
const LINK_KEY = Buffer.from(process.env.LINK_KEY ?? "", "base64url");
// How our invite makes links (bench/run.py finds it from an invitation ours stored): `key` is
// {keyId}.{mac}, found through a link item; `key-customer-invitation` is
// {keyId}.{customer}.{invitationId}.{mac}, the MAC covering the customer, and needs no link item.
const LINK_TOKEN_FORMAT = process.env.LINK_TOKEN_FORMAT ?? "key-customer-invitation";
const NAMED = LINK_TOKEN_FORMAT === "key-customer-invitation";
const DAILY_LIMIT = 50;
const DAY = 24 * 3600 * 1000;

const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));

const json = (statusCode, body, headers = {}) => ({
  statusCode,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});
const problem = (status, code, detail) => ({
  statusCode: status,
  headers: { "content-type": "application/problem+json" },
  body: JSON.stringify({ type: `urn:cloudhub:problem:${code}`, title: code, status, detail, code }),
});

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
function ulid(now) {
  let id = "";
  for (let i = 9, t = now; i >= 0; i--, t = Math.floor(t / 32)) id = CROCKFORD[t % 32] + id;
  for (const byte of randomBytes(16)) id += CROCKFORD[byte % 32];
  return id;
}

const epoch = (millis) => Math.floor(millis / 1000);

const adminShard = (userId) =>
  String([...userId.slice(-4)].reduce((sum, c) => sum + c.charCodeAt(0), 0) % 16).padStart(2, "0");

function linkHash(customer, invitationId, nonce) {
  const mac = createHmac("sha256", LINK_KEY);
  const parts = NAMED
    ? ["cloudhub-invitation-link/3", LINK_KEY_ID, customer, invitationId, nonce]
    : ["cloudhub-invitation-link/2", LINK_KEY_ID, invitationId, nonce];
  for (const part of parts) mac.update(part).update("\0");
  const digest = mac.digest("base64url");
  const token = NAMED ? `${LINK_KEY_ID}.${customer}.${invitationId}.${digest}` : `${LINK_KEY_ID}.${digest}`;
  return createHash("sha256").update(token).digest("base64url");
}

export const handler = async (event) => {
  const caller = event.requestContext?.authorizer?.lambda;
  if (!caller?.userId) return problem(401, "missing-session", "Log in first.");
  const customer = (event.pathParameters?.customerId ?? "").toUpperCase();
  let body;
  try {
    body = JSON.parse(event.body ?? "");
  } catch {
    return problem(400, "invalid-body", "The body is not JSON.");
  }
  const email = String(body.email ?? "").trim().toLowerCase();
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) return problem(400, "invalid-email", "Not an email address.");
  const roleIds = [...new Set(body.roleIds ?? [])].sort();
  if (roleIds.length > 20) return problem(400, "too-many-roles", "At most 20 roles.");
  if (body.language !== undefined && !["en", "de"].includes(body.language)) {
    return problem(400, "invalid-language", "The language is en or de.");
  }

  const now = Date.now();
  const today = new Date(now).toISOString().slice(0, 10);
  const resetsAt = Date.parse(today) + DAY;
  const id = ulid(now);
  const nonce = randomBytes(16).toString("base64url");
  const hash = linkHash(customer, id, nonce);
  const expiresAt = now + DAY;
  const stamp = (millis) => new Date(millis).toISOString();
  const invitation = {
    PK: `CUSTOMER#${customer}`,
    SK: `INVITATION#${id}`,
    LSI1SK: `INVITATION#${String(expiresAt).padStart(15, "0")}#${id}`,
    id,
    customerNumber: customer,
    email,
    roleIds,
    invitedBy: caller.userId,
    invitedByEmail: caller.email,
    firstInvitedBy: caller.userId,
    firstInvitedByEmail: caller.email,
    ...(body.language ? { language: body.language } : {}),
    createdAt: stamp(now),
    lastSentAt: stamp(now),
    sendCount: 1,
    expiresAt: stamp(expiresAt),
    linkKeyId: LINK_KEY_ID,
    linkNonce: nonce,
    linkHash: hash,
    ttl: epoch(expiresAt + 30 * DAY),
    GSI1PK: `INVITATIONS#${customer}#open`,
    GSI1SK: `INVITATION#${email}#${id}`,
    GSI2PK: `INVITEE#${email}`,
    GSI2SK: `INVITATION#${customer}#${id}`,
    // Who sent it, in which request: what the activity log is written from.
    change: {
      id: ulid(now),
      kind: "invitation-sent",
      actorId: caller.userId,
      actorEmail: caller.email,
      ...(event.requestContext?.requestId ? { requestId: event.requestContext.requestId } : {}),
      at: stamp(now),
    },
  };
  const items = [
    {
      Update: {
        TableName: TABLE,
        Key: { PK: `QUOTA#${caller.userId}#${today}`, SK: "QUOTA" },
        UpdateExpression: "ADD #sent :one SET #ttl = :ttl",
        ConditionExpression: "attribute_not_exists(#sent) OR #sent < :limit",
        ExpressionAttributeNames: { "#sent": "sent", "#ttl": "ttl" },
        ExpressionAttributeValues: { ":one": 1, ":limit": DAILY_LIMIT, ":ttl": epoch(resetsAt + DAY) },
      },
    },
    {
      // The customer's admin set: 16 items, a user's one chosen by the last characters of its id.
      ConditionCheck: {
        TableName: TABLE,
        Key: { PK: `CUSTOMER#${customer}`, SK: `ADMINS#${adminShard(caller.userId)}` },
        ConditionExpression: "contains(#users, :user)",
        ExpressionAttributeNames: { "#users": "userIds" },
        ExpressionAttributeValues: { ":user": caller.userId },
      },
    },
    ...roleIds.map((roleId) => ({
      ConditionCheck: {
        TableName: TABLE,
        Key: { PK: `CUSTOMER#${customer}`, SK: `ROLE#${roleId}` },
        ConditionExpression: "attribute_exists(PK) AND (attribute_not_exists(#changing) OR #changing < :now)",
        ExpressionAttributeNames: { "#changing": "changingUntil" },
        ExpressionAttributeValues: { ":now": epoch(now) },
      },
    })),
    {
      Put: {
        TableName: TABLE,
        Item: { PK: `CUSTOMER#${customer}`, SK: `EMAIL#${email}`, status: "invited", invitationId: id },
        ConditionExpression: "attribute_not_exists(PK)",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      },
    },
    { Put: { TableName: TABLE, Item: invitation, ConditionExpression: "attribute_not_exists(PK)" } },
    // A token that names its invitation needs no item to find it.
    ...(NAMED ? [] : [{
      Put: {
        TableName: TABLE,
        Item: { PK: `LINK#${hash}`, SK: "LINK", customerNumber: customer, invitationId: id, ttl: invitation.ttl },
        ConditionExpression: "attribute_not_exists(PK)",
      },
    }]),
  ];
  // The answer names the roles; a successful transaction returns no item, so they are read beside it.
  const names = roleIds.length
    ? db.send(new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :role)",
        ExpressionAttributeValues: { ":pk": `CUSTOMER#${customer}`, ":role": "ROLE#" },
        ConsistentRead: true,
      }))
    : Promise.resolve({ Items: [] });
  try {
    await db.send(new TransactWriteCommand({ TransactItems: items }));
  } catch (error) {
    names.catch(() => {});
    if (!(error instanceof TransactionCanceledException)) throw error;
    const failed = (error.CancellationReasons ?? []).map((reason) => reason.Code === "ConditionalCheckFailed");
    if (failed[1]) return problem(403, "not-admin", "Only an admin of this customer may invite.");
    if (failed.slice(2, 2 + roleIds.length).some(Boolean)) return problem(400, "unknown-role", "A role does not exist or is being changed.");
    if (failed[2 + roleIds.length]) return problem(409, "already-invited-or-member", "This email address is invited or a member already.");
    if (failed[0]) return problem(429, "invitation-quota-exhausted", "The daily invitation quota is used up.");
    throw error;
  }
  const roles = (await names).Items.filter((role) => roleIds.includes(role.id)).map((role) => ({ id: role.id, name: role.name }));
  const inviter = { userId: caller.userId, email: caller.email };
  return json(
    201,
    {
      invitation: {
        id,
        email,
        status: "pending",
        roles,
        roleIds,
        invitedBy: inviter,
        firstInvitedBy: inviter,
        createdAt: stamp(now),
        lastSentAt: stamp(now),
        sendCount: 1,
        expiresAt: stamp(expiresAt),
      },
      emailStatus: "queued",
    },
    { location: `/customers/${customer}/invitations/${id}` },
  );
};
