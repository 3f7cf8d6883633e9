"""Add a partner: ``python -m infra.partners.add_partner --usage-plan-id ID --name acme-training``.

Creates an API Gateway API key for the partner, attaches it to the stack's partner usage plan
(output ``PartnerUsagePlanId``: its throttle and daily quota apply to the key) and prints the key's
id (the partner id in summaries and on every diagnostic) and its value (give it to the partner).
``--disable KEY_ID`` turns a partner's key off without deleting its history.
"""

from __future__ import annotations

import argparse
import re
import sys

import boto3


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--usage-plan-id", help="the stack output PartnerUsagePlanId")
    parser.add_argument("--name", help="partner name: lowercase letters, digits and dashes")
    parser.add_argument("--disable", metavar="KEY_ID", help="disable this partner key instead")
    args = parser.parse_args(argv)
    client = boto3.client("apigateway")
    if args.disable:
        client.update_api_key(
            apiKey=args.disable, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
        )
        print(f"disabled {args.disable}")
        return 0
    if not args.usage_plan_id or not args.name or not re.fullmatch(r"[a-z0-9-]{2,64}", args.name):
        parser.error("--usage-plan-id and a --name of 2-64 lowercase letters, digits or dashes are required")
    key = client.create_api_key(name=f"partner-{args.name}", enabled=True, description=f"partner {args.name}")
    client.create_usage_plan_key(usagePlanId=args.usage_plan_id, keyId=key["id"], keyType="API_KEY")
    print(f"partner id (apiKeyId): {key['id']}")
    print(f"API key for the partner's pages: {key['value']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
