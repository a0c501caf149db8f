"""The running lab: bring-up and teardown (controller, network, virtual switches, management), live
changes, failures injected."""
