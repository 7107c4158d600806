#!/usr/bin/env python
"""Synthesize every Kreo environment (``cdktf synth`` runs this; see cdktf.json).

Environment variables (read here and nowhere else):

* ``KREO_ENVIRONMENTS``: environments to synthesize, comma- or space-separated;
  default: every ``config/<env>.yaml``.
* ``KREO_CONFIG_DIR``: the config directory; default: ``config/`` beside this file.
* ``KREO_EAGER_PROVIDERS=1``: import the provider packages whole, the packages'
  own way, instead of only the resource modules the app uses
  (kreo_infra/lazy_providers.py; the output is the same, docs/performance.md).

A bad config file or construct input ends with one line on stderr and exit
status 2, before cdktf, jsii or the providers are loaded and before anything is
written to ``cdktf.out/``. ``python main.py --check`` validates the config only;
``python main.py --stacks [--phase infrastructure|workloads]`` prints the
selected environments' stack ids in deployment order (what ``make deploy``
passes to ``cdktf deploy``); without ``KREO_ENVIRONMENTS`` and ``--phase``, every
stack of the account in an order that works in a fresh account (the bootstrap
first, production's edge before staging's). ``python main.py --first-deploy``
adds the steps that are not stacks (docs/operations.md).

A chart pin for no add-on, or an add-on of the registry
(kreo_infra/platform/addons) without a pin, is a config error too.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

from kreo_infra.config.eks import support_notice
from kreo_infra.config.loader import (
    ConfigError,
    load_environments,
    parent_of,
    parse_environment_list,
)
from kreo_infra.errors import PropsError
from kreo_infra.layers import PHASES, environment_stacks, first_deploy_order

EXIT_BAD_INPUT = 2


def main(argv: list[str]) -> int:
    config_dir = Path(os.environ.get("KREO_CONFIG_DIR") or Path(__file__).parent / "config")
    names = parse_environment_list(os.environ.get("KREO_ENVIRONMENTS"))
    try:
        # The config cannot know the add-on registry: its names come from here. An
        # add-on module that cannot be registered is one line too (PropsError).
        from kreo_infra.platform.addons import addon_names

        configs = load_environments(config_dir, names, chart_names=addon_names())
        if "--check" in argv:
            for config in configs:
                notice = support_notice(config.cluster.kubernetes_version, date.today())
                if notice:
                    # A GitHub annotation in the workflows, a plain line elsewhere.
                    prefix = "::warning::" if os.environ.get("GITHUB_ACTIONS") == "true" else ""
                    print(f"{prefix}warning: {config.name}: {notice}", file=sys.stderr)
            print(f"config ok: {', '.join(c.name for c in configs)}")
            return 0
        if "--account-id" in argv:
            print("\n".join(c.account_id for c in configs))
            return 0
        if "--parent-zone-role" in argv[:-1]:
            access = argv[argv.index("--parent-zone-role") + 1]
            if access not in ("reader", "delegation"):
                print("error: --parent-zone-role: use reader or delegation", file=sys.stderr)
                return EXIT_BAD_INPUT
            every = load_environments(config_dir)
            for config in configs:
                parent = parent_of(config, every)
                if parent is not None and parent.account_id != config.account_id:
                    role = (
                        config.dns_reader_role if access == "reader" else config.dns_delegation_role
                    )
                    print(f"arn:aws:iam::{parent.account_id}:role/{role}")
            return 0
        if "--first-deploy" in argv:
            print("\n".join(first_deploy_order(configs)))
            return 0
        if "--stacks" in argv:
            phase = argv[argv.index("--phase") + 1] if "--phase" in argv[:-1] else None
            if "--phase" in argv and phase not in PHASES:
                print(f"error: --phase: use one of {', '.join(PHASES)}", file=sys.stderr)
                return EXIT_BAD_INPUT
            if names is None and phase is None:
                # Every environment: the account's order, which works in a fresh
                # account (bootstrap first, a parent zone before its delegation).
                print("\n".join(s for s in first_deploy_order(configs) if not s.startswith("#")))
                return 0
            for config in configs:
                print("\n".join(environment_stacks(config, phase)))
            return 0
        # Imported only now: loading cdktf and the providers takes seconds, a
        # config error should not wait for it. The finder first, so that only
        # the provider modules the app uses are imported.
        from kreo_infra import lazy_providers

        lazy_providers.install(os.environ)
        from kreo_infra.app import build_app

        # What the accounts share (registry pulls, zone delegations) depends on
        # every environment, whichever ones are selected.
        every = configs if names is None else load_environments(config_dir)
        app = build_app(configs, charts_dir=Path(__file__).parent / "charts", account_configs=every)
    except (ConfigError, PropsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
