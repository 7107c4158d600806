"""The real Terraform, run on the synthesized ``cdktf.out/`` (docs/testing.md).

* :mod:`.toolchain` finds the Terraform CLI and the provider plugins the standard
  way and writes the harness's own CLI config into the project's cache;
* :mod:`.compat` turns a copy of a stack written for the pinned AWS provider 6.x
  into one the 5.x provider of an offline mirror accepts, and says what that
  leaves unchecked;
* :mod:`.mocks` writes the ``terraform test`` files (mock providers, remote-state
  reads fed from the stacks before);
* :mod:`.runner` runs tier 1 (``terraform validate``) and tier 2 (plan, apply and
  re-plan with mock providers, every AWS stack in deployment order);
* :mod:`.emulator` runs tier 3: apply against a local AWS emulator.

``python -m kreo_infra.tfcheck`` is the command line (``make tf-check``,
``make emulate``). Nothing here calls AWS: tier 3 talks to 127.0.0.1 only.
"""
