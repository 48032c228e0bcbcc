"""moto server that authorises calls on the resource they act on, and records every decision.

Started by test/support/moto.ts (startMoto with enforceIam) with INITIAL_NO_AUTH_ACTION_COUNT set: moto then
authorises every request after the first N against the caller's IAM policies. Out of the box moto checks the
policies of most services against Resource "*" (only IAM roles, STS AssumeRole and SQS name a resource), so a
statement scoped to `user/*` or to a Security Hub product never matches and every scoped grant is refused. This
launcher tells moto the resource each call of KeyWarden acts on, as IAM's Service Authorization Reference defines
it (the user for IAM user and key actions, the product for BatchImportFindings, the hub for GetFindings, the bus
for PutEvents, the trail for the CloudTrail reads), and leaves moto's own evaluation as it is.

Each decision is appended as one JSON line to the file named by KEYWARDEN_AUTHZ_LOG:
{"principal": ..., "action": ..., "resource": ..., "allowed": true|false}.

An AccessDenied of a JSON-protocol service is answered in JSON (moto answers XML, which the SDK cannot parse).
"""

import json
import os
import sys

from moto import settings
from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.events.responses import EventsHandler
from moto.iam.access_control import IAMRequest, IAMRequestBase
from moto.iam.responses import IamResponse
from moto.securityhub.responses import SecurityHubResponse
from moto.utilities.utils import get_partition

LOG_PATH = os.environ.get("KEYWARDEN_AUTHZ_LOG")
JSON_SERVICES = {"securityhub", "events", "cloudtrail", "organizations", "sqs"}


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


def check_action_permitted(self, resource):
    try:
        _check_action_permitted(self, resource)
    except Exception:
        _log(self, resource, False)
        raise
    _log(self, resource, True)


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


def events_resource(self):
    if self._get_action() != "PutEvents":
        return "*"
    partition = get_partition(self.region)
    buses = []
    for entry in _body(self).get("Entries", []):
        bus = entry.get("EventBusName") or "default"
        buses.append(
            bus if bus.startswith("arn:") else f"arn:{partition}:events:{self.region}:{self.current_account}:event-bus/{bus}"
        )
    return buses


EventsHandler._determine_resource = events_resource


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

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
