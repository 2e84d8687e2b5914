"""Peer of functions/authorizer, as a team would write it on Python 3.11 with boto3: the bearer
token's SHA-256 looked up with one GetItem, answered as an HTTP API "simple response". A benchmark
fixture (bench/run.py), not a function of CloudHub."""

import base64
import datetime
import hashlib
import os

import boto3

sessions = boto3.resource("dynamodb").Table(os.environ["SESSIONS_TABLE_NAME"])


def refused(failure):
    return {"isAuthorized": True, "context": {"failure": failure}}


def handler(event, context):
    header = (event.get("headers") or {}).get("authorization", "")
    token = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
    if not token:
        return refused("missing-session")
    digest = base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()
    session = sessions.get_item(Key={"PK": f"SESSION#{digest}"}, ConsistentRead=True).get("Item")
    if not session:
        return refused("invalid-session")
    expires_at = datetime.datetime.fromisoformat(session["expiresAt"].replace("Z", "+00:00"))
    if expires_at <= datetime.datetime.now(datetime.timezone.utc):
        return refused("session-expired")
    return {"isAuthorized": True, "context": {"userId": session["userId"], "email": session["email"]}}
