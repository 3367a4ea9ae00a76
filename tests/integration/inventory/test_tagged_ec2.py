"""jupyterops.cloud.tagged_ec2 against the EC2 emulator: names, addresses, groups, cache, errors."""

from __future__ import annotations

import time

import pytest


def hosts_of(data: dict, group: str) -> set[str]:
    """Hosts directly in a group of ansible-inventory --list output."""
    return set(data.get(group, {}).get("hosts", []))


def hostvars(data: dict) -> dict:
    """The _meta.hostvars of ansible-inventory --list output."""
    return data["_meta"]["hostvars"]


def test_stop_start_follows_the_new_ip_and_keeps_the_name(fleet, write_config, inventory):
    (nb,) = fleet.launch("notebook")
    config = write_config()
    first_ip = fleet.describe(nb)["PublicIpAddress"]
    _, data = inventory(config)
    assert hosts_of(data, "running") == {"notebook"}
    assert hostvars(data)["notebook"]["ansible_host"] == first_ip
    assert hostvars(data)["notebook"]["jupyter_url"] == "http://localhost:8889/"
    tunnel = hostvars(data)["notebook"]["ssh_tunnel_command"]
    assert tunnel == f"ssh -N -L 8889:127.0.0.1:8889 admin@{first_ip}"

    fleet.stop(nb)
    _, data = inventory(config)
    assert hosts_of(data, "stopped") == {"notebook"}
    assert "running" not in data
    stopped = hostvars(data)["notebook"]
    assert "ansible_host" not in stopped
    assert "jupyter_url" not in stopped
    assert "ssh_tunnel_command" not in stopped
    assert stopped["instance_state"] == "stopped"

    fleet.start(nb)
    new_ip = fleet.describe(nb)["PublicIpAddress"]
    assert new_ip != first_ip
    _, data = inventory(config)
    assert hosts_of(data, "running") == {"notebook"}
    assert hostvars(data)["notebook"]["ansible_host"] == new_ip
    assert hostvars(data)["notebook"]["instance_id"] == nb


ALICE = {"jupyterops:host": "alice"}  # what the ec2_host role tags an instance with at launch


def ids_by_name(data: dict) -> dict:
    """Host name -> instance id."""
    return {name: v["instance_id"] for name, v in hostvars(data).items()}


def test_a_second_alice_does_not_rename_the_first(fleet, write_config, inventory):
    (first,) = fleet.launch("alice", **ALICE)
    config = write_config()
    _, data = inventory(config)
    assert set(hostvars(data)) == {"alice"}

    time.sleep(1.1)  # the emulator's launch times have whole seconds: make the second one later
    (second,) = fleet.launch("alice", **ALICE)
    proc, data = inventory(config)
    assert ids_by_name(data) == {"alice": first, f"alice-{second}": second}
    assert "2 instances claim the host name 'alice'" in proc.stderr
    assert f"{first} (launched first) keeps it" in proc.stderr
    _, again = inventory(config)
    assert set(hostvars(again)) == set(hostvars(data))

    # The newer one goes: nothing changes for the first.
    fleet.client.terminate_instances(InstanceIds=[second])
    proc, data = inventory(config)
    assert ids_by_name(data) == {"alice": first}
    assert "claim the host name" not in proc.stderr

    # The older one goes: the next oldest (documented rule) takes the bare name.
    time.sleep(1.1)
    (third,) = fleet.launch("alice", **ALICE)
    time.sleep(1.1)
    (fourth,) = fleet.launch("alice", **ALICE)
    _, data = inventory(config)
    assert ids_by_name(data) == {
        "alice": first, f"alice-{third}": third, f"alice-{fourth}": fourth}
    fleet.client.terminate_instances(InstanceIds=[first])
    _, data = inventory(config)
    assert ids_by_name(data) == {"alice": third, f"alice-{fourth}": fourth}


def test_the_name_given_at_launch_wins_over_a_renamed_name_tag(fleet, write_config, inventory):
    (nb,) = fleet.launch("alice", **ALICE)
    fleet.client.create_tags(Resources=[nb], Tags=[{"Key": "Name", "Value": "alice (old)"}])
    (plain,) = fleet.launch("bob")                       # launched without the role: its Name tag
    _, data = inventory(write_config())
    assert ids_by_name(data) == {"alice": nb, "bob": plain}


def test_a_name_equal_to_a_group_is_suffixed_with_a_warning(fleet, write_config, inventory):
    (named_all,) = fleet.launch("all")
    (named_group,) = fleet.launch("tagged_ec2")
    (named_state,) = fleet.launch("stopped")
    (named_keyed,) = fleet.launch("owner_ann", Owner="bob")
    fleet.launch("web", Owner="ann")
    config = write_config(keyed_groups=[{"key": "instance_tags.Owner", "prefix": "owner"}])
    proc, data = inventory(config)
    expected = {f"all-{named_all}", f"tagged_ec2-{named_group}", f"stopped-{named_state}",
                f"owner_ann-{named_keyed}", "web"}
    assert set(hostvars(data)) == expected
    assert hosts_of(data, "tagged_ec2") == expected
    assert hosts_of(data, "running") == expected
    assert hosts_of(data, "owner_ann") == {"web"}
    assert hosts_of(data, "owner_bob") == {f"owner_ann-{named_keyed}"}
    assert hostvars(data)[f"all-{named_all}"]["instance_id"] == named_all
    for name in ("all", "tagged_ec2", "stopped", "owner_ann"):
        assert f"host name '{name}'" in proc.stderr
    assert "also a group name" in proc.stderr


def test_login_user_from_the_tag_the_role_sets(fleet, write_config, inventory):
    fleet.launch("deb", **{"jupyterops:login-user": "admin"})
    fleet.launch("ubu", **{"jupyterops:login-user": "ubuntu"})
    fleet.launch("old")                                  # launched before the role set the tag
    _, data = inventory(write_config())
    hv = hostvars(data)
    assert {n: v["ansible_user"] for n, v in hv.items()} == {"deb": "admin", "ubu": "ubuntu", "old": "admin"}
    assert hv["ubu"]["ssh_tunnel_command"].endswith(f" ubuntu@{hv['ubu']['ansible_host']}")

    # An explicit ssh_user overrides the tags for every host.
    _, data = inventory(write_config("explicit", ssh_user="ec2-user"))
    hv = hostvars(data)
    assert {v["ansible_user"] for v in hv.values()} == {"ec2-user"}
    assert hv["ubu"]["ssh_tunnel_command"].endswith(f" ec2-user@{hv['ubu']['ansible_host']}")


def test_untagged_instances_are_ignored(fleet, write_config, inventory):
    fleet.launch("mine")
    (nameless,) = fleet.launch(None)                     # has Project but no Name
    fleet.launch("foreign", project="other")              # other project
    fleet.launch("bare", project=None)                    # no Project tag at all
    _, data = inventory(write_config())
    assert set(hostvars(data)) == {"mine"}

    _, data = inventory(write_config("fallback", hostname_fallback="instance_id"))
    assert set(hostvars(data)) == {"mine", nameless}


def test_hostvars_address_preference_and_private_ip(fleet, write_config, inventory):
    (web,) = fleet.launch("web")
    (db,) = fleet.launch("db")
    eip = fleet.eip(db)
    fleet.client.create_volume(Size=1, AvailabilityZone="eu-west-1a")
    volume = fleet.client.create_volume(Size=1, AvailabilityZone="eu-west-1a")["VolumeId"]
    fleet.client.attach_volume(VolumeId=volume, InstanceId=web, Device="/dev/sdf")
    _, data = inventory(write_config())
    hv = hostvars(data)
    assert hv["db"]["ansible_host"] == eip
    assert hv["db"]["elastic_ip"] == eip
    web_raw = fleet.describe(web)
    assert hv["web"]["ansible_host"] == web_raw["PublicIpAddress"]
    assert hv["web"]["elastic_ip"] is None
    assert hv["web"]["private_ip"] == web_raw["PrivateIpAddress"]
    assert hv["web"]["data_volume_ids"] == [volume]
    assert hv["web"]["instance_tags"] == {"Name": "web", "Project": "jupyter"}
    assert hv["web"]["availability_zone"].startswith("eu-west-1")
    for key in ("instance_type", "launch_time", "region", "public_ip"):
        assert hv["web"][key]

    _, data = inventory(write_config("private", use_private_ip=True, address_preference=["private_ip"],
                                     jupyter_url_template="https://{address}:{jupyter_port}/?host={name}",
                                     jupyter_port=9999))
    hv = hostvars(data)
    private = web_raw["PrivateIpAddress"]
    assert hv["web"]["ansible_host"] == private
    assert hv["web"]["jupyter_url"] == f"https://{private}:9999/?host=web"
    assert hv["web"]["jupyter_port"] == 9999


def test_states_and_server_side_filters(fleet, write_config, inventory):
    (small,) = fleet.launch("small")
    (off,) = fleet.launch("off")
    fleet.stop(off)
    tags = [{"Key": "Name", "Value": "large"}, {"Key": "Project", "Value": "jupyter"}]
    fleet.client.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.large",
                               TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
    _, data = inventory(write_config("running", instance_states=["running"]))
    assert set(hostvars(data)) == {"small", "large"}
    _, data = inventory(write_config("large", filters={"instance-type": ["t3.large"]}))
    assert set(hostvars(data)) == {"large"}
    assert small


def test_constructed_compose_groups_keyed_groups(fleet, write_config, inventory):
    fleet.launch("alpha", Owner="ann")
    fleet.launch("beta", Owner="bob")
    config = write_config(
        compose={"jupyter_ready": "instance_state == 'running'"},
        groups={"ann_hosts": "instance_tags.Owner == 'ann'"},
        keyed_groups=[{"key": "instance_tags.Owner", "prefix": "owner"}],
    )
    _, data = inventory(config)
    assert hosts_of(data, "ann_hosts") == {"alpha"}
    assert hosts_of(data, "owner_bob") == {"beta"}
    assert hostvars(data)["alpha"]["jupyter_ready"] is True

    strict = write_config("strict", strict=True, compose={"broken": "instance_tags.Nope.deeper"})
    proc, _ = inventory(strict, check=False)
    assert proc.returncode != 0
    assert "broken" in proc.stderr


def test_a_thousand_instances_are_listed_completely(fleet, write_config, inventory):
    ids = fleet.launch_named("nb", 1000)
    _, data = inventory(write_config())
    hv = hostvars(data)
    assert len(hv) == 1000
    assert {v["instance_id"] for v in hv.values()} == set(ids)
    assert len(hosts_of(data, "running")) == 1000
    assert all("ansible_host" in v for v in hv.values())


def test_cache_never_serves_a_stale_address(fleet, write_config, inventory, tmp_path):
    (nb,) = fleet.launch("notebook")
    cache_dir = tmp_path / "cache"
    config = write_config(cache=True, cache_plugin="ansible.builtin.jsonfile",
                          cache_connection=str(cache_dir), cache_timeout=3600)
    first_ip = fleet.describe(nb)["PublicIpAddress"]
    proc, data = inventory(config, "-vvv")
    assert hostvars(data)["notebook"]["ansible_host"] == first_ip
    assert list(cache_dir.iterdir()), "the cache was not written"

    proc, data = inventory(config, "-vvv")
    assert "tagged_ec2: cache hit" in proc.stdout + proc.stderr
    assert hostvars(data)["notebook"]["ansible_host"] == first_ip

    fleet.stop(nb)
    fleet.start(nb)                  # between two runs: running -> running with a new address
    new_ip = fleet.describe(nb)["PublicIpAddress"]
    assert new_ip != first_ip
    proc, data = inventory(config, "-vvv")
    assert "tagged_ec2: cache invalidated" in proc.stdout + proc.stderr
    assert hostvars(data)["notebook"]["ansible_host"] == new_ip

    proc, data = inventory(config, "-vvv")
    assert "tagged_ec2: cache hit" in proc.stdout + proc.stderr
    assert hostvars(data)["notebook"]["ansible_host"] == new_ip

    fleet.stop(nb)
    _, data = inventory(config)
    assert hosts_of(data, "stopped") == {"notebook"}
    assert "ansible_host" not in hostvars(data)["notebook"]

    fleet.launch("newcomer")
    _, data = inventory(config)
    assert "newcomer" in hostvars(data)


def test_cache_off_writes_no_cache(fleet, write_config, inventory, tmp_path):
    fleet.launch("notebook")
    cache_dir = tmp_path / "cache"
    config = write_config(cache=False, cache_plugin="ansible.builtin.jsonfile",
                          cache_connection=str(cache_dir))
    _, data = inventory(config)
    assert set(hostvars(data)) == {"notebook"}
    assert not cache_dir.exists() or not list(cache_dir.iterdir())


HEAD = "plugin: jupyterops.cloud.tagged_ec2\nregion: eu-west-1\n"
BAD_CONFIGS = {
    "unknown option": (HEAD + "hostname_tga: Name\n",
                       "hostname_tga"),
    "wrong type": (HEAD + "jupyter_port: eight\n",
                   "jupyter_port"),
    "wrong choice": (HEAD + "hostname_source: ip\n",
                     "hostname_source"),
    "malformed filter": (HEAD + "filters:\n  tag:x: {a: 1}\n",
                         "filters"),
    "filters not a mapping": (HEAD + "filters: [tag:x]\n",
                              "filters"),
    "bad template": (HEAD + "jupyter_url_template: 'https://{adress}/'\n", "jupyter_url_template"),
    "bad state": (HEAD + "instance_states: [asleep]\n",
                  "instance_states"),
    "not a boolean": (HEAD + "use_private_ip: maybe\n", "use_private_ip"),
    "state filter": (HEAD + "filters:\n  instance-state-name: running\n", "instance_states"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_configuration_fails_naming_the_option(case, write_config, inventory):
    raw, option = BAD_CONFIGS[case]
    proc, _ = inventory(write_config(raw=raw), check=False)
    assert proc.returncode != 0
    assert option in proc.stderr


def test_missing_region_fails(write_config, inventory, aws_env):
    env = {k: v for k, v in aws_env.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
    proc, _ = inventory(write_config(raw="plugin: jupyterops.cloud.tagged_ec2\n"), env=env, check=False)
    assert proc.returncode != 0
    assert "option 'regions'" in proc.stderr
    assert "required" in proc.stderr


def test_ansible_doc_renders_the_plugin(ansible_runner):
    proc = ansible_runner(["ansible-doc", "-t", "inventory", "jupyterops.cloud.tagged_ec2"])
    assert proc.returncode == 0, proc.stderr
    for text in ("jupyter_url_template", "address_preference", "keyed_groups", "cache_timeout",
                 "assume_role_arn", "endpoint_url", "EXAMPLES"):
        assert text in proc.stdout


def test_example_inventory_file_works(fleet, write_config, inventory, repo_root):
    fleet.launch("notebook", project="jupyterops", Owner="ann")
    fleet.launch("elsewhere", project="other")
    config = write_config("example", raw=(repo_root / "inventory" / "aws.tagged_ec2.yml").read_text())
    _, data = inventory(config)
    assert set(hostvars(data)) == {"notebook"}
    assert hosts_of(data, "owner_ann") == {"notebook"}
