"""How dbt-snowflake reads dbt/profiles.yml's `snowflake` output from the environment, without an
account: renders the profile with dbt-core's own renderer (env_var() from os.environ), builds the
adapter's credentials and the connector arguments dbt would connect with (which loads a private key
from SNOWFLAKE_PRIVATE_KEY or SNOWFLAKE_PRIVATE_KEY_PATH). Prints them as JSON, secrets reduced to
their presence and the DER key length.

Usage: snowflake_profile_check.py PROFILES_DIR
"""

import json
import os
import sys
from argparse import Namespace

from dbt.flags import set_from_args
from dbt_common.context import set_invocation_context

set_from_args(Namespace(), None)
set_invocation_context(dict(os.environ))

from dbt.adapters.factory import load_plugin  # noqa: E402

load_plugin("snowflake")

from dbt.config.profile import Profile, read_profile  # noqa: E402
from dbt.config.renderer import ProfileRenderer  # noqa: E402

raw = read_profile(sys.argv[1])
profile = Profile.from_raw_profile_info(raw["music"], "music", ProfileRenderer({}), target_override="snowflake")
creds = profile.credentials
args = creds.auth_args()
print(json.dumps({
    "type": creds.type,
    "account": creds.account,
    "user": creds.user,
    "database": creds.database,
    "warehouse": creds.warehouse,
    "password_set": bool(creds.password),
    "private_key_der_bytes": len(args["private_key"]) if args.get("private_key") else 0,
}))
