// Peer of functions/authorizer, as a team would write it on Node.js 20 with AWS SDK v3: the bearer
// token's SHA-256 looked up with one GetItem, answered as an HTTP API "simple response". A
// benchmark fixture (bench/run.py), not a function of CloudHub.
import { createHash } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";

const TABLE = process.env.SESSIONS_TABLE_NAME;
const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));

const refused = (failure) => ({ isAuthorized: true, context: { failure } });

export const handler = async (event) => {
  const header = event.headers?.authorization ?? "";
  const token = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
  if (!token) return refused("missing-session");
  const hash = createHash("sha256").update(token).digest("base64url");
  const { Item: session } = await db.send(
    new GetCommand({ TableName: TABLE, Key: { PK: `SESSION#${hash}` }, ConsistentRead: true }),
  );
  if (!session) return refused("invalid-session");
  if (Date.parse(session.expiresAt) <= Date.now()) return refused("session-expired");
  return { isAuthorized: true, context: { userId: session.userId, email: session.email } };
};
