"""Peer of functions/invite, as a team would write it on Python 3.11 with boto3: the same items and
conditions in one TransactWriteItems, answered 201 with the same JSON. Left out: re-inviting an
expired invitation, and reading the link key from Secrets Manager (it comes from the environment).
A benchmark fixture (bench/run.py), not a function of CloudHub."""

import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import secrets
import time

import boto3
from boto3.dynamodb.types import TypeSerializer

TABLE = os.environ["DATA_TABLE_NAME"]
LINK_KEY_ID = os.environ["LINK_KEY_ID"]
LINK_KEY = base64.urlsafe_b64decode(os.environ["LINK_KEY"] + "==")
# How our invite makes links (bench/run.py finds it from an invitation ours stored): `key` is
# {keyId}.{mac}, found through a link item; `key-customer-invitation` is
# {keyId}.{customer}.{invitationId}.{mac}, the MAC covering the customer, and needs no link item.
NAMED = os.environ.get("LINK_TOKEN_FORMAT", "key-customer-invitation") == "key-customer-invitation"
DAILY_LIMIT = 50
DAY = datetime.timedelta(days=1)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

dynamodb = boto3.client("dynamodb")
serializer = TypeSerializer()


def item(plain):
    return {name: serializer.serialize(value) for name, value in plain.items()}


def problem(status, code, detail):
    body = {"type": f"urn:cloudhub:problem:{code}", "title": code, "status": status, "detail": detail, "code": code}
    return {"statusCode": status, "headers": {"content-type": "application/problem+json"}, "body": json.dumps(body)}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ulid(millis):
    value = (millis << 80) | int.from_bytes(secrets.token_bytes(10), "big")
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def link_hash(customer, invitation_id, nonce):
    mac = hmac.new(LINK_KEY, digestmod=hashlib.sha256)
    if NAMED:
        parts = ("cloudhub-invitation-link/3", LINK_KEY_ID, customer, invitation_id, nonce)
    else:
        parts = ("cloudhub-invitation-link/2", LINK_KEY_ID, invitation_id, nonce)
    for part in parts:
        mac.update(part.encode() + b"\0")
    digest = b64url(mac.digest())
    token = f"{LINK_KEY_ID}.{customer}.{invitation_id}.{digest}" if NAMED else f"{LINK_KEY_ID}.{digest}"
    return b64url(hashlib.sha256(token.encode()).digest())


def stamp(at):
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def epoch(at):
    return int(at.timestamp())


def admin_shard(user_id):
    return f"{sum(user_id[-4:].encode()) % 16:02d}"


def handler(event, context):
    caller = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}
    if not caller.get("userId"):
        return problem(401, "missing-session", "Log in first.")
    customer = ((event.get("pathParameters") or {}).get("customerId") or "").upper()
    try:
        body = json.loads(event.get("body") or "")
    except ValueError:
        return problem(400, "invalid-body", "The body is not JSON.")
    email = str(body.get("email", "")).strip().lower()
    if not EMAIL.match(email):
        return problem(400, "invalid-email", "Not an email address.")
    role_ids = sorted(set(body.get("roleIds") or []))
    if len(role_ids) > 20:
        return problem(400, "too-many-roles", "At most 20 roles.")
    language = body.get("language")
    if language is not None and language not in ("en", "de"):
        return problem(400, "invalid-language", "The language is en or de.")

    now = datetime.datetime.now(datetime.timezone.utc)
    millis = int(now.timestamp() * 1000)
    today = now.date()
    resets_at = datetime.datetime.combine(today + DAY, datetime.time(), datetime.timezone.utc)
    invitation_id = ulid(millis)
    nonce = b64url(secrets.token_bytes(16))
    hash_ = link_hash(customer, invitation_id, nonce)
    expires_at = now + DAY
    ttl = epoch(expires_at + 30 * DAY)
    invitation = {
        "PK": f"CUSTOMER#{customer}",
        "SK": f"INVITATION#{invitation_id}",
        "LSI1SK": f"INVITATION#{millis + 24 * 3600 * 1000:015d}#{invitation_id}",
        "id": invitation_id,
        "customerNumber": customer,
        "email": email,
        "roleIds": role_ids,
        "invitedBy": caller["userId"],
        "invitedByEmail": caller["email"],
        "firstInvitedBy": caller["userId"],
        "firstInvitedByEmail": caller["email"],
        "createdAt": stamp(now),
        "lastSentAt": stamp(now),
        "sendCount": 1,
        "expiresAt": stamp(expires_at),
        "linkKeyId": LINK_KEY_ID,
        "linkNonce": nonce,
        "linkHash": hash_,
        "ttl": ttl,
        "GSI1PK": f"INVITATIONS#{customer}#open",
        "GSI1SK": f"INVITATION#{email}#{invitation_id}",
        "GSI2PK": f"INVITEE#{email}",
        "GSI2SK": f"INVITATION#{customer}#{invitation_id}",
        # Who sent it, in which request: what the activity log is written from.
        "change": {
            "id": ulid(millis),
            "kind": "invitation-sent",
            "actorId": caller["userId"],
            "actorEmail": caller["email"],
            **({"requestId": request_id} if (request_id := (event.get("requestContext") or {}).get("requestId")) else {}),
            "at": stamp(now),
        },
    }
    if language:
        invitation["language"] = language
    items = [
        {"Update": {
            "TableName": TABLE,
            "Key": item({"PK": f"QUOTA#{caller['userId']}#{today.isoformat()}", "SK": "QUOTA"}),
            "UpdateExpression": "ADD #sent :one SET #ttl = :ttl",
            "ConditionExpression": "attribute_not_exists(#sent) OR #sent < :limit",
            "ExpressionAttributeNames": {"#sent": "sent", "#ttl": "ttl"},
            "ExpressionAttributeValues": item({":one": 1, ":limit": DAILY_LIMIT, ":ttl": epoch(resets_at + DAY)}),
        }},
        # The customer's admin set: 16 items, a user's one chosen by the last characters of its id.
        {"ConditionCheck": {
            "TableName": TABLE,
            "Key": item({"PK": f"CUSTOMER#{customer}", "SK": f"ADMINS#{admin_shard(caller['userId'])}"}),
            "ConditionExpression": "contains(#users, :user)",
            "ExpressionAttributeNames": {"#users": "userIds"},
            "ExpressionAttributeValues": item({":user": caller["userId"]}),
        }},
    ]
    for role_id in role_ids:
        items.append({"ConditionCheck": {
            "TableName": TABLE,
            "Key": item({"PK": f"CUSTOMER#{customer}", "SK": f"ROLE#{role_id}"}),
            "ConditionExpression": "attribute_exists(PK) AND (attribute_not_exists(#changing) OR #changing < :now)",
            "ExpressionAttributeNames": {"#changing": "changingUntil"},
            "ExpressionAttributeValues": item({":now": epoch(now)}),
        }})
    items += [
        {"Put": {
            "TableName": TABLE,
            "Item": item({"PK": f"CUSTOMER#{customer}", "SK": f"EMAIL#{email}", "status": "invited",
                          "invitationId": invitation_id}),
            "ConditionExpression": "attribute_not_exists(PK)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }},
        {"Put": {"TableName": TABLE, "Item": item(invitation), "ConditionExpression": "attribute_not_exists(PK)"}},
    ]
    if not NAMED:  # a token that names its invitation needs no item to find it
        items.append({"Put": {
            "TableName": TABLE,
            "Item": item({"PK": f"LINK#{hash_}", "SK": "LINK", "customerNumber": customer,
                          "invitationId": invitation_id, "ttl": ttl}),
            "ConditionExpression": "attribute_not_exists(PK)",
        }})
    try:
        dynamodb.transact_write_items(TransactItems=items)
    except dynamodb.exceptions.TransactionCanceledException as error:
        failed = [reason.get("Code") == "ConditionalCheckFailed" for reason in error.response.get("CancellationReasons", [])]
        failed += [False] * (len(items) - len(failed))
        if failed[1]:
            return problem(403, "not-admin", "Only an admin of this customer may invite.")
        if any(failed[2:2 + len(role_ids)]):
            return problem(400, "unknown-role", "A role does not exist or is being changed.")
        if failed[2 + len(role_ids)]:
            return problem(409, "already-invited-or-member", "This email address is invited or a member already.")
        if failed[0]:
            return problem(429, "invitation-quota-exhausted", "The daily invitation quota is used up.")
        raise
    roles = []
    if role_ids:
        # The answer names the roles; a successful transaction returns no item.
        found = dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :role)",
            ExpressionAttributeValues=item({":pk": f"CUSTOMER#{customer}", ":role": "ROLE#"}),
            ConsistentRead=True,
        )["Items"]
        roles = [{"id": r["id"]["S"], "name": r["name"]["S"]} for r in found if r["id"]["S"] in role_ids]
    inviter = {"userId": caller["userId"], "email": caller["email"]}
    answer = {
        "invitation": {
            "id": invitation_id,
            "email": email,
            "status": "pending",
            "roles": roles,
            "roleIds": role_ids,
            "invitedBy": inviter,
            "firstInvitedBy": inviter,
            "createdAt": stamp(now),
            "lastSentAt": stamp(now),
            "sendCount": 1,
            "expiresAt": stamp(expires_at),
        },
        "emailStatus": "queued",
    }
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "location": f"/customers/{customer}/invitations/{invitation_id}"},
        "body": json.dumps(answer),
    }
