"""A coordination office's nightly audit, written against a client generated from Tumaini's
OpenAPI document with openapi-python-client (no hand-written HTTP, except the CSV form of a
statistics table, read through the generated client's own session).

Generate the client, then run the script:

    openapi-python-client generate --url https://tumaini.example/api/v1/openapi.json
    PYTHONPATH=tumaini-api-client python3 audit_workflow.py

Configuration, from the environment:

    TUMAINI_URL            the server, e.g. https://tumaini.example
    TUMAINI_CLIENT_ID      a machine client of the coordination office (scopes audit:read,
    TUMAINI_CLIENT_SECRET  statistics:read, referrals:overview, cases:summary) and its secret;
                           or, to sign in as a person instead:
    TUMAINI_EMAIL          a coordinator's account ...
    TUMAINI_PASSWORD       ... its password ...
    TUMAINI_TOTP_SECRET    ... and its authenticator secret (base32), for the second factor
    TUMAINI_STATE          a file that keeps the last audit position between runs (optional)

It gets a token with the OAuth 2.0 client credentials grant (or signs in), lists the cases by a filter page by page, reads who accessed one of them, pulls
the audit events after the position it kept last time and the signed checkpoints, has the
server verify the chain, reads a statistics table as JSON and as CSV, and reads the referral
overview. It prints one line per step and exits non-zero at the first step that fails.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import struct
import sys
import time

from tumaini_api_client import AuthenticatedClient, Client
from tumaini_api_client.api.audit import (
    disclosures,
    list_checkpoints,
    list_events,
    public_key,
    verify_chain,
)
from tumaini_api_client.api.auth import login
from tumaini_api_client.api.cases import list_cases
from tumaini_api_client.api.referrals import referral_overview
from tumaini_api_client.api.statistics import statistics_table
from tumaini_api_client.models import LoginRequest, Problem


def fail(step, answer):
    if isinstance(answer, Problem):
        detail = f"{answer.status} {answer.title}"
    else:
        detail = repr(answer)
    sys.exit(f"FAILED {step}: {detail}")


def expect(step, answer, kind):
    if not isinstance(answer, kind):
        fail(step, answer)
    return answer


def aware(step, moment):
    """Every time the server sends carries its offset."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        sys.exit(f"FAILED {step}: a time without an offset")
    return moment


def totp(secret_base32, at=None):
    """RFC 6238: SHA-1, 6 digits, 30-second steps."""
    key = base64.b32decode(secret_base32.upper() + "=" * (-len(secret_base32) % 8))
    step = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def client_credentials(url):
    from tumaini_api_client.api.auth import client_token
    from tumaini_api_client.models import ClientTokenForm, ClientTokenResponse

    anonymous = Client(base_url=url, raise_on_unexpected_status=True)
    answer = client_token.sync(
        client=anonymous,
        body=ClientTokenForm(
            grant_type="client_credentials",
            client_id=os.environ["TUMAINI_CLIENT_ID"],
            client_secret=os.environ["TUMAINI_CLIENT_SECRET"],
        ),
    )
    granted = expect("client credentials", answer, ClientTokenResponse)
    print(f"client credentials: ok, scopes {granted.scope}")
    return AuthenticatedClient(
        base_url=url, token=granted.access_token, raise_on_unexpected_status=True
    )


def sign_in(url):
    from tumaini_api_client.models import TokenResponse

    anonymous = Client(base_url=url, raise_on_unexpected_status=True)
    answer = login.sync(
        client=anonymous,
        body=LoginRequest(
            email=os.environ["TUMAINI_EMAIL"],
            password=os.environ["TUMAINI_PASSWORD"],
            otp=totp(os.environ["TUMAINI_TOTP_SECRET"]),
        ),
    )
    token = expect("sign in", answer, TokenResponse).access_token
    print("sign in: ok")
    return AuthenticatedClient(base_url=url, token=token, raise_on_unexpected_status=True)


def cases_by_filter(client):
    from tumaini_api_client.models import CasePage, CaseStatus

    seen, pages, cursor = [], 0, None
    while True:
        kwargs = {"status": CaseStatus.OPEN, "limit": 2}
        if cursor is not None:
            kwargs["cursor"] = cursor
        page = expect("cases", list_cases.sync(client=client, **kwargs), CasePage)
        pages += 1
        for case in page.items:
            aware("cases", case.created_at)
            seen.append(case)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    print(f"cases: {len(seen)} open in {pages} pages")
    return seen


def who_accessed(client, case):
    from tumaini_api_client.models import DisclosureReport

    report = expect(
        "disclosures", disclosures.sync(str(case.id), client=client), DisclosureReport
    )
    for accessor in report.accessed_by:
        aware("disclosures", accessor.first_at)
        aware("disclosures", accessor.last_at)
    print(f"who accessed {case.reference}: {len(report.accessed_by)} accounts")


def audit_feed(client, state_file):
    from tumaini_api_client.models import CheckpointPage, EventPage, PublicKey

    after = 0
    if state_file and os.path.exists(state_file):
        with open(state_file) as f:
            after = json.load(f)["after"]
    start, events = after, 0
    while True:
        page = expect("audit events", list_events.sync(client=client, after=after), EventPage)
        for event in page.items:
            aware("audit events", event.occurred_at)
            if event.position is None or event.position <= after:
                sys.exit("FAILED audit events: positions do not increase")
            after = event.position
            events += 1
        if not page.items:
            break
    if state_file:
        with open(state_file, "w") as f:
            json.dump({"after": after}, f)
    key = expect("public key", public_key.sync(client=client), PublicKey)
    checkpoints = expect("checkpoints", list_checkpoints.sync(client=client), CheckpointPage)
    for checkpoint in checkpoints.items:
        aware("checkpoints", checkpoint.signed_at)
        if checkpoint.key_id != key.key_id:
            sys.exit("FAILED checkpoints: signed by an unknown key")
    print(
        f"audit events: {events} after position {start}, now at {after}; "
        f"{len(checkpoints.items)} checkpoints signed by key {key.key_id}"
    )


def verify(client):
    from tumaini_api_client.models import VerifyReport

    report = expect("verify", verify_chain.sync(client=client), VerifyReport)
    if not report.intact:
        sys.exit(f"FAILED verify: the chain breaks at {report.first_break}")
    print(f"verify: intact, {report.events} events, {report.checkpoints} checkpoints")


def statistics(client):
    from tumaini_api_client.models import Table

    table = expect(
        "statistics (JSON)",
        statistics_table.sync(client=client, dimensions="sex"),
        Table,
    )
    # The generator parses one media type per operation; the CSV form of the same operation
    # is read through the generated client's own session.
    answer = client.get_httpx_client().get(
        "/api/v1/statistics/tables", params={"dimensions": "sex", "format": "csv"}
    )
    if answer.status_code != 200 or not answer.headers["content-type"].startswith("text/csv"):
        sys.exit(f"FAILED statistics (CSV): {answer.status_code}")
    rows = [line for line in answer.text.splitlines() if line]
    print(f"statistics: {len(table.entries)} cells as JSON, {len(rows)} lines as CSV")


def referrals(client):
    from tumaini_api_client.models import ReferralOverview

    overview = expect("referral overview", referral_overview.sync(client=client), ReferralOverview)
    aware("referral overview", overview.at)
    print(f"referral overview: {len(overview.organisations)} organisations")


def main():
    url = os.environ["TUMAINI_URL"]
    if os.environ.get("TUMAINI_CLIENT_ID"):
        client = client_credentials(url)
    else:
        client = sign_in(url)
    with client:
        cases = cases_by_filter(client)
        if cases:
            who_accessed(client, cases[0])
        audit_feed(client, os.environ.get("TUMAINI_STATE"))
        verify(client)
        statistics(client)
        referrals(client)
    print("audit workflow: done", datetime.datetime.now(datetime.timezone.utc).isoformat())


if __name__ == "__main__":
    main()
