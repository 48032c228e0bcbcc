"""moto server that authorises calls on the resource they act on, and records every decision.

Started by test/support/moto.ts (startMoto with enforceIam) with INITIAL_NO_AUTH_ACTION_COUNT set: moto then
authorises every request after the first N against the caller's IAM policies. Out of the box moto checks the
policies of most services against Resource "*" (only IAM roles, STS AssumeRole and SQS name a resource), so a
statement scoped to `user/*` or to a Security Hub product never matches and every scoped grant is refused. This
launcher tells moto the resource each call of KeyWarden acts on, as IAM's Service Authorization Reference defines
it (the user for IAM user and key actions, the product for BatchImportFindings, the hub for GetFindings, the bus
for PutEvents, the rule for DescribeRule and ListTargetsByRule, the table for DynamoDB, the trail for the CloudTrail
reads, the OU or root for Organizations' listings of a parent), and leaves moto's own evaluation as it is.

Each decision is appended as one JSON line to the file named by KEYWARDEN_AUTHZ_LOG:
{"principal": ..., "action": ..., "resource": ..., "allowed": true|false}.

An AccessDenied of a JSON-protocol service is answered in JSON (moto answers XML, which the SDK cannot parse).

CloudTrail LookupEvents, which moto does not implement (it answers 500), is served here after moto's own
authorisation, so a caller without cloudtrail:LookupEvents is refused as AWS would refuse it. Its event history is
what this server did: each successful UpdateAccessKey and TagUser an authorised principal made is kept as the
CloudTrail record AWS writes for it (shaped like test/fixtures/cloudtrail/record-*.json, the caller's identity
taken from the credentials that signed the call), in the account and region where IAM logs it, and LookupEvents
filters, orders and pages those records as test/support/trail-records.ts `lookupEvents` does.
"""

import itertools
import json
import os
import sys
import threading
from datetime import datetime, timezone

from moto import settings
from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.responses import DynamoHandler
from moto.events.responses import EventsHandler
from moto.iam.access_control import IAMRequest, IAMRequestBase
from moto.iam.responses import IamResponse
from moto.organizations.responses import OrganizationsResponse
from moto.securityhub.responses import SecurityHubResponse
from moto.utilities.utils import get_partition

LOG_PATH = os.environ.get("KEYWARDEN_AUTHZ_LOG")
JSON_SERVICES = {"securityhub", "events", "cloudtrail", "organizations", "sqs", "dynamodb"}


def _log(request, resource, allowed):
    if not LOG_PATH:
        return
    try:
        principal = request._access_key.arn
    except AttributeError:
        principal = None
    with open(LOG_PATH, "a", encoding="utf-8") as log:
        log.write(
            json.dumps(
                {"principal": principal, "action": request._action, "resource": resource, "allowed": allowed}
            )
            + "\n"
        )


# API operations IAM authorises under another action (Service Authorization Reference, Amazon SQS).
AUTHORIZED_AS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}

_init = IAMRequestBase.__init__


def init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self._action = AUTHORIZED_AS.get(self._action, self._action)


IAMRequestBase.__init__ = init

_check_action_permitted = IAMRequestBase.check_action_permitted


# The credentials of the request this thread serves, once moto authorised it: who a trail record names.
_caller = threading.local()


def check_action_permitted(self, resource):
    _caller.access_key = None
    try:
        _check_action_permitted(self, resource)
    except Exception:
        _log(self, resource, False)
        raise
    _log(self, resource, True)
    _caller.access_key = getattr(self, "_access_key", None)


IAMRequestBase.check_action_permitted = check_action_permitted

_raise_access_denied = IAMRequest._raise_access_denied


def raise_access_denied(self):
    if self._service in JSON_SERVICES:
        error = JsonRESTError(
            "AccessDeniedException",
            f"User: {self._access_key.arn} is not authorized to perform: {self._action}",
        )
        error.code = 403
        raise error
    _raise_access_denied(self)


IAMRequest._raise_access_denied = raise_access_denied

_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action


def authorize(self, resource="*"):
    """A call acting on several resources (PutEvents to several buses) is authorised on each."""
    _caller.access_key = None
    resources = resource if isinstance(resource, list) else [resource]
    unique = list(dict.fromkeys(resources)) or ["*"]
    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        unique = unique[:1]
    for one in unique:
        _authorize(self, one)


ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize


def _body(response):
    try:
        return json.loads(response.body or "{}")
    except (TypeError, ValueError):
        return {}


def _param(response, name):
    values = response.data.get(name) if isinstance(response.data, dict) else None
    if isinstance(values, list):
        return values[0] if values else None
    return values


_iam_resource = IamResponse._determine_resource


def iam_resource(self):
    partition = get_partition(self.region)
    user_name = _param(self, "UserName")
    if user_name:
        try:
            return self.backend.get_user(user_name).arn
        except Exception:
            return f"arn:{partition}:iam::{self.current_account}:user/{user_name}"
    access_key_id = _param(self, "AccessKeyId")
    if access_key_id and self._get_action() == "GetAccessKeyLastUsed":
        for user in self.backend.users.values():
            if any(key.access_key_id == access_key_id for key in user.access_keys):
                return user.arn
        return "*"
    return _iam_resource(self)


IamResponse._determine_resource = iam_resource


def securityhub_resource(self):
    partition = get_partition(self.region)
    action = self._get_action()
    if action == "BatchImportFindings":
        return [finding.get("ProductArn", "*") for finding in _body(self).get("Findings", [])]
    if action == "GetFindings":
        return f"arn:{partition}:securityhub:{self.region}:{self.current_account}:hub/default"
    return "*"


SecurityHubResponse._determine_resource = securityhub_resource


# The rule a call reads, by its parameter: arn:<partition>:events:<region>:<account>:rule/<name> (default bus).
RULE_PARAMETERS = {"DescribeRule": "Name", "ListTargetsByRule": "Rule"}


def events_resource(self):
    partition = get_partition(self.region)
    action = self._get_action()
    if action in RULE_PARAMETERS:
        name = _body(self).get(RULE_PARAMETERS[action]) or "*"
        return name if name.startswith("arn:") else f"arn:{partition}:events:{self.region}:{self.current_account}:rule/{name}"
    if action != "PutEvents":
        return "*"
    buses = []
    for entry in _body(self).get("Entries", []):
        bus = entry.get("EventBusName") or "default"
        buses.append(
            bus if bus.startswith("arn:") else f"arn:{partition}:events:{self.region}:{self.current_account}:event-bus/{bus}"
        )
    return buses


EventsHandler._determine_resource = events_resource


def dynamodb_resource(self):
    # moto's DynamoDB handler replaces its body with the parsed parameters before authorising.
    body = self.body if isinstance(self.body, dict) else _body(self)
    name = body.get("TableName")
    if not name:
        return "*"
    return f"arn:{get_partition(self.region)}:dynamodb:{self.region}:{self.current_account}:table/{name}"


DynamoHandler._determine_resource = dynamodb_resource


def cloudtrail_resource(self):
    action = self._get_action()
    name = None
    if action == "GetTrailStatus":
        name = _body(self).get("Name")
    elif action == "GetEventSelectors":
        name = _body(self).get("TrailName")
    if not name:
        return "*"
    if name.startswith("arn:"):
        return name
    return f"arn:{get_partition(self.region)}:cloudtrail:{self.region}:{self.current_account}:trail/{name}"


CloudTrailResponse._determine_resource = cloudtrail_resource

# The listings of an OU or root act on that parent (Service Authorization Reference, AWS Organizations).
ORGANIZATION_PARENT_ACTIONS = {"ListAccountsForParent", "ListOrganizationalUnitsForParent", "ListChildren"}


def organizations_resource(self):
    if self._get_action() not in ORGANIZATION_PARENT_ACTIONS:
        return "*"
    parent_id = _body(self).get("ParentId")
    try:
        parents = self.organizations_backend.ou
    except Exception:
        return "*"
    return next((parent.arn for parent in parents if parent.id == parent_id), "*")


OrganizationsResponse._determine_resource = organizations_resource

# ---- CloudTrail event history: what IAM logged here, served by LookupEvents ----------------------------------

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "cloudtrail")


def _fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as fixture:
        return json.load(fixture)


TEMPLATES = {
    "UpdateAccessKey": _fixture("record-update-access-key-deactivate-assumed-role.json"),
    "TagUser": _fixture("record-tag-user-assumed-role.json"),
}
# IAM is a global service: CloudTrail logs its calls in the partition's IAM event region.
IAM_EVENT_REGION = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-north-1"}
_trail_lock = threading.Lock()
_trail = []  # (sequence, account, region, record)
_sequence = itertools.count(1)


def _user_identity(access_key, template):
    """The userIdentity CloudTrail writes for the principal behind `access_key` (an assumed role or a user)."""
    account_id = access_key.account_id
    if hasattr(access_key, "_owner_role_name"):
        role_name = access_key._owner_role_name
        session_name = access_key._session_name
        try:
            role = access_key.backend.get_role(role_name)
            role_arn, role_id = role.arn, role.id
        except Exception:
            role_arn, role_id = f"arn:{access_key.partition}:iam::{account_id}:role/{role_name}", "AROAXXXXXXXXXXXXXXXXX"
        session_context = template["userIdentity"]["sessionContext"]
        return {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{session_name}",
            "arn": access_key.arn,
            "accountId": account_id,
            "accessKeyId": access_key._access_key_id,
            "sessionContext": {
                **session_context,
                "sessionIssuer": {
                    **session_context["sessionIssuer"],
                    "principalId": role_id,
                    "arn": role_arn,
                    "accountId": account_id,
                    "userName": role_name,
                },
            },
        }
    return {
        "type": "IAMUser",
        "principalId": "AIDAXXXXXXXXXXXXXXXXX",
        "arn": access_key.arn,
        "accountId": account_id,
        "accessKeyId": access_key._access_key_id,
        "userName": access_key.arn.split("/")[-1],
    }


def _log_iam_call(response, event_name, request_parameters):
    """Keeps the record of a successful IAM call made by an authorised principal (the unchecked set-up is not)."""
    access_key = getattr(_caller, "access_key", None)
    if access_key is None:
        return
    template = TEMPLATES[event_name]
    sequence = next(_sequence)
    suffix = str(sequence).rjust(12, "0")
    region = IAM_EVENT_REGION.get(access_key.partition, "us-east-1")
    record = {
        **template,
        "userIdentity": _user_identity(access_key, template),
        "eventTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "awsRegion": region,
        "requestParameters": request_parameters,
        "requestID": f"5b2e9c1d-3f7a-4c8e-9d21-{suffix}",
        "eventID": f"9e8d7c6b-5a49-4838-a726-{suffix}",
        "recipientAccountId": response.current_account,
    }
    with _trail_lock:
        _trail.append((sequence, response.current_account, region, record))


_update_access_key = IamResponse.update_access_key


def update_access_key(self):
    result = _update_access_key(self)
    parameters = {"accessKeyId": self._get_param("AccessKeyId"), "status": self._get_param("Status")}
    if self._get_param("UserName"):
        parameters = {"userName": self._get_param("UserName"), **parameters}
    _log_iam_call(self, "UpdateAccessKey", parameters)
    return result


IamResponse.update_access_key = update_access_key

_tag_user = IamResponse.tag_user


def tag_user(self):
    result = _tag_user(self)
    tags = self._get_param("Tags", [])
    _log_iam_call(
        self,
        "TagUser",
        {
            "userName": self._get_param("UserName"),
            "tags": [{"key": tag.get("Key"), "value": tag.get("Value")} for tag in tags],
        },
    )
    return result


IamResponse.tag_user = tag_user

LOOKUP_ATTRIBUTES = ["EventId", "EventName", "EventSource", "ReadOnly", "AccessKeyId", "Username"]


def _attribute_of(record, key):
    identity = record.get("userIdentity") or {}
    if key == "EventId":
        return record.get("eventID")
    if key == "EventName":
        return record.get("eventName")
    if key == "EventSource":
        return record.get("eventSource")
    if key == "ReadOnly":
        return "true" if record.get("readOnly") else "false"
    if key == "AccessKeyId":
        # The credentials that signed the call, not a key the call acted on.
        return identity.get("accessKeyId")
    if key == "Username":
        return identity.get("userName") or str(identity.get("arn") or "").split("/")[-1]
    return None


def _epoch(record):
    return datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def _invalid(message):
    return json.dumps({"__type": "InvalidLookupAttributesException", "message": message}), {"status": 400}


def lookup_events(self):
    """LookupEvents over this account's and region's records: newest first, at most 50 a page, with NextToken."""
    request = _body(self)
    attributes = request.get("LookupAttributes") or []
    if len(attributes) > 1:
        return _invalid("only one lookup attribute")
    attribute = attributes[0] if attributes else None
    if attribute is not None and attribute.get("AttributeKey") not in LOOKUP_ATTRIBUTES:
        return _invalid(str(attribute.get("AttributeKey")))
    page_size = min(request.get("MaxResults") or 50, 50)
    start = request.get("StartTime", float("-inf"))
    end = request.get("EndTime", float("inf"))
    with _trail_lock:
        held = [
            (sequence, record)
            for sequence, account, region, record in _trail
            if account == self.current_account and region == self.region
        ]
    selected = [
        record
        for sequence, record in sorted(held, key=lambda held_one: held_one[0], reverse=True)
        if start <= _epoch(record) <= end
        and (attribute is None or _attribute_of(record, attribute.get("AttributeKey")) == attribute.get("AttributeValue"))
    ]
    offset = int(request.get("NextToken") or 0)
    page = selected[offset : offset + page_size]
    events = []
    for record in page:
        parameters = record.get("requestParameters") or {}
        resources = []
        if parameters.get("accessKeyId"):
            resources.append({"ResourceType": "AWS::IAM::AccessKey", "ResourceName": parameters["accessKeyId"]})
        if parameters.get("userName"):
            resources.append({"ResourceType": "AWS::IAM::User", "ResourceName": parameters["userName"]})
        events.append(
            {
                "EventId": record["eventID"],
                "EventName": record["eventName"],
                "ReadOnly": _attribute_of(record, "ReadOnly"),
                "AccessKeyId": (record.get("userIdentity") or {}).get("accessKeyId"),
                "EventTime": _epoch(record),
                "EventSource": record.get("eventSource"),
                "Username": _attribute_of(record, "Username"),
                "Resources": resources,
                "CloudTrailEvent": json.dumps(record),
            }
        )
    body = {"Events": events}
    if offset + page_size < len(selected):
        body["NextToken"] = str(offset + page_size)
    return json.dumps(body)


CloudTrailResponse.lookup_events = lookup_events

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
