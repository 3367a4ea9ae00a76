# Copyright: (c) 2026, jupyterops.cloud maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (DOCUMENTATION and EXAMPLES come first, as in every Ansible plugin)

from __future__ import annotations

DOCUMENTATION = r"""
name: tagged_ec2
short_description: EC2 instances selected by tags, named stably, with IP-following addresses
version_added: 0.1.0
description:
  - Lists the EC2 instances of the configured region(s) that carry the configured tags.
  - Host names are stable (the name given at launch, never an IP address) and do not change when another
    instance appears or goes; C(ansible_host) is the instance's current address, so a stop/start that
    changes the public IP is followed on the next run.
  - Running instances are in group C(running); stopped and stopping ones in group C(stopped), without
    C(ansible_host); pending ones in C(pending).
  - The configuration file must be named C(*.tagged_ec2.yml) or C(*.tagged_ec2.yaml).
  - With O(cache=true) the stable facts are cached; every run still asks EC2 for the current state and
    addresses (DescribeInstanceStatus and DescribeNetworkInterfaces) and re-queries in full when any of
    them, or the set of instances, changed. A cached run therefore never serves a stale address.
author:
  - jupyterops.cloud maintainers (@jupyterops)
extends_documentation_fragment:
  - inventory_cache
  - constructed
  - amazon.aws.boto3
  - amazon.aws.common.plugins
  - amazon.aws.region.plugins
  - amazon.aws.assume_role.plugins
notes:
  - Host variables set for every host are C(instance_id), C(instance_type), C(instance_state),
    C(public_ip), C(private_ip), C(elastic_ip), C(launch_time), C(availability_zone), C(region),
    C(instance_tags) (a dict), C(data_volume_ids) (EBS volumes other than the root volume),
    C(ansible_host) when an address is available, C(jupyter_access) (C(tunnel) or C(public), from the
    C(jupyterops:access) tag), C(jupyter_port) (unless O(jupyter_port) is set), C(ansible_user) (unless
    O(ssh_user) is set; from the C(jupyterops:login-user) tag), and C(jupyter_url) /
    C(ssh_tunnel_command) when their template can be rendered. C(ansible_ssh_private_key_file),
    C(jupyter_local_port) (from O(tunnel_local_port)), and C(ansible_user) / C(jupyter_port) when
    O(ssh_user) / O(jupyter_port) are set, are variables of the group O(group). O(compose) can still
    override every one of them per host.
  - "Template fields (Python C(str.format) syntax, named fields only): C({name}), C({instance_id}),
    C({address}) (the chosen C(ansible_host)), C({public_ip}), C({private_ip}), C({elastic_ip}),
    C({region}), C({availability_zone}), C({instance_type}), C({user}), C({identity_file}),
    C({jupyter_port}), C({local_port}). Hosts without an address (stopped) get neither variable, nor
    does a host for which the template references a field without a value (such as C({identity_file})
    when O(ssh_identity_file) is not set)."
  - "Host name with O(hostname_source=tag): the instance's C(jupyterops:host) tag, which the
    jupyterops.cloud.ec2_host role sets once at launch, else the O(hostname_tag) tag (C(Name)). Instances
    whose tags give no usable name (missing, empty or an IP address) are left out unless
    O(hostname_fallback=instance_id)."
  - "Namesakes (two or more listed instances claiming the same name, ignoring case): the one launched
    first keeps the bare name, every other one is listed as C(<name>-<instance id>), and a warning names
    them all. Launched first = live (not C(shutting-down) / C(terminated)) before gone, then the earliest
    first launch (the primary network interface's C(AttachTime), which a stop/start does not move, else
    C(LaunchTime)), then the smaller instance id. So a newer namesake that appears or goes never renames
    the older one; when the older one goes, the next in that order takes the bare name (the names are a
    pure function of the instances listed)."
  - "A name equal to a group name, ignoring case (C(all), C(ungrouped), O(group), the state groups
    C(pending), C(running), C(stopped), C(shutting_down), C(terminated), C(unknown), the keys of
    O(groups), any group already in the inventory, or a group that O(keyed_groups) builds) is listed as
    C(<name>-<instance id>) with a warning, instead of failing the inventory or losing the host."
  - "Every option is checked when the source is read, before a cache plugin is loaded, a role is assumed
    or EC2 is called; all broken rules are reported together, one line each naming the option and what
    it accepts, for example 'tagged_ec2: jupyter_port must be 1-65535 and not 22 (got 0)'.
    Credentials are never shown."
  - Type rules beyond Ansible's own conversion. Booleans must be YAML C(true) / C(false) (not C('yes'),
    C(1)); integer options refuse C(true) / C(false); string options refuse an unquoted C(yes), C(no),
    C(true) or C(false) (quote it).
  - Rules of the inherited options. O(compose) and O(groups) map variable / group names (letters,
    digits, C(_)) to Jinja expression strings (a literal needs quotes inside the string, C("'2222'")).
    O(keyed_groups) entries are mappings with a C(key) expression and only C(prefix), C(separator),
    C(parent_group) (a group name), C(default_value) (not with C(trailing_separator=false)),
    C(trailing_separator) and C(leading_separator). O(cache_timeout) is 0 or more seconds,
    O(cache_plugin) a plugin name, O(cache_connection) and O(cache_prefix) one line of text.
    O(endpoint_url) is an C(http://) or C(https://) URL, O(assume_role_arn) an IAM role ARN
    (C(arn:aws:iam::<account>:role/<name>)), O(profile) and the credentials one line of text.
options:
  plugin:
    description: Token that ensures this is a source file for the plugin.
    required: true
    type: str
    choices: ['jupyterops.cloud.tagged_ec2']
  regions:
    description:
      - Regions to query. When empty, the single region of O(region) (or E(AWS_REGION)) is used.
      - At least one region is required; the plugin never scans all regions.
      - Each region (and O(region) when it is the one used) must be an EC2 region that this controller's
        botocore knows from its bundled endpoint data; update botocore for a region newer than it.
    type: list
    elements: str
    default: []
  tags:
    description:
      - Tags an instance must carry, as C(key -> value) or C(key -> list of values); applied server-side
        as C(tag:KEY) filters.
      - Keys are EC2 tag keys (1-128 letters, digits, spaces and C(_.:/=+-@)); values are one
        line of at most 256 characters (C(*) and C(?) are EC2 wildcards), or a non-empty list of them.
    type: dict
    default: {}
  filters:
    description:
      - Further server-side DescribeInstances filters (name -> value or list of values), see
        U(https://docs.aws.amazon.com/cli/latest/reference/ec2/describe-instances.html#options).
      - Use O(instance_states) instead of an C(instance-state-name) filter.
      - The key of a C(tag:KEY) filter follows the rules of O(tags); every value is one line.
    type: dict
    default: {}
  instance_states:
    description: Instance states to list.
    type: list
    elements: str
    default: [pending, running, stopping, stopped]
  hostname_source:
    description: Where host names come from, the O(hostname_tag) tag or the instance id.
    type: str
    choices: [tag, instance_id]
    default: tag
  hostname_tag:
    description:
      - Tag whose value is the host name when O(hostname_source=tag), for instances without a usable
        C(jupyterops:host) tag (the name the jupyterops.cloud.ec2_host role gives an instance at launch,
        which comes first). Characters other than letters, digits, C(.), C(_) and C(-) are replaced by C(-).
      - An EC2 tag key (1-128 letters, digits, spaces and C(_.:/=+-@)), never empty.
    type: str
    default: Name
  hostname_fallback:
    description: What to do with an instance that has no usable name tag, leave it out or use its instance id.
    type: str
    choices: [skip, instance_id]
    default: skip
  address_preference:
    description:
      - Order in which addresses are tried for C(ansible_host); the first one available wins.
      - C(private_ip) and C(private_dns) are only used when O(use_private_ip=true).
    type: list
    elements: str
    default: [elastic_ip, public_ip, private_ip]
  use_private_ip:
    description: Allow private addresses for C(ansible_host) (for example from inside the VPC or over a VPN).
    type: bool
    default: false
  group:
    description:
      - Group that holds every host of this source. The values shared by all hosts (C(ansible_user) and
        C(jupyter_port) when set, C(ansible_ssh_private_key_file), C(jupyter_local_port)) are its group
        variables.
      - An Ansible group name (letters, digits and C(_), not starting with a digit), neither C(all) /
        C(ungrouped) nor one of the state groups (C(pending), C(running), C(stopped), C(shutting_down),
        C(terminated), C(unknown)).
    type: str
    default: tagged_ec2
  ssh_user:
    description:
      - Login user of every host; set as C(ansible_user) and offered to templates as C({user}).
      - When unset, each host's own login user is used, from the C(jupyterops:login-user) tag the
        jupyterops.cloud.ec2_host role sets (the AMI's user, C(admin) on Debian, C(ubuntu) on Ubuntu); an
        instance without the tag (or with a value that is not a login name) gets C(admin).
      - A login name of 1-32 letters, digits, C(.), C(_) and C(-), not starting with C(-) or C(.) (it is
        written into ssh commands and the ssh_config of connect.yml).
    type: str
  ssh_identity_file:
    description:
      - Private key file; when set it becomes C(ansible_ssh_private_key_file) and the template field
        C({identity_file}).
      - A non-empty path on one line, without control characters or leading / trailing spaces.
    type: str
  jupyter_port:
    description:
      - Port JupyterLab listens on, the template field C({jupyter_port}); set it to override every host.
      - When unset, each host's own port is used, from the C(jupyterops:port) tag the
        jupyterops.cloud.ec2_host role sets (derived from C(jupyterops_access)); an instance without the
        tag gets the tunnel-mode port C(8889) (or C(9999) when its C(jupyterops:access) tag is C(public)).
      - 1-65535 and not 22 (the SSH port).
    type: int
  tunnel_local_port:
    description: Local port of the SSH tunnel, the template field C({local_port}); 1-65535.
    type: int
    default: 8889
  jupyter_url_template:
    description:
      - Template of the C(jupyter_url) host variable (see the notes for the fields); set it to override
        every host (for example with your DNS name).
      - "When unset, each host's URL follows its C(jupyterops:access) tag (set by the
        jupyterops.cloud.ec2_host role from C(jupyterops_access)): C(tunnel) (also without the tag) gives
        C(http://localhost:{local_port}/), plain HTTP through the SSH tunnel; C(public) gives
        C(https://{address}:{jupyter_port}/)."
      - One line starting with C(http://) or C(https://).
    type: str
  ssh_tunnel_command_template:
    description:
      - Template of the C(ssh_tunnel_command) host variable (see the notes for the fields).
      - One non-empty line.
    type: str
    default: "ssh -N -L {local_port}:127.0.0.1:{jupyter_port} {user}@{address}"
"""

EXAMPLES = r"""
# inventory/aws.tagged_ec2.yml: every instance of project "jupyter" in one region
plugin: jupyterops.cloud.tagged_ec2
region: eu-west-1
tags:
  Project: jupyterops

---
# Several regions, private addresses (VPN), instance ids as names, JupyterLab in public mode
plugin: jupyterops.cloud.tagged_ec2
regions: [eu-west-1, us-east-1]
tags:
  Project: [jupyter, jupyter-staging]
filters:
  instance-type: [t3.large, t3.xlarge]
hostname_source: instance_id
use_private_ip: true
address_preference: [private_ip]
jupyter_port: 9999
jupyter_url_template: "https://{address}:{jupyter_port}/"
ssh_tunnel_command_template: >-
  ssh -N -i {identity_file} -L {local_port}:127.0.0.1:{jupyter_port} {user}@{address}
ssh_identity_file: ~/.ssh/jupyter.pem
keyed_groups:
  - key: instance_tags.Owner | default('nobody')
    prefix: owner
compose:
  jupyter_ready: instance_state == 'running'

---
# Cache the stable facts for an hour (addresses are still checked on every run)
plugin: jupyterops.cloud.tagged_ec2
region: eu-west-1
tags:
  Project: jupyterops
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/jupyterops-inventory
cache_timeout: 3600
"""

import contextlib
import difflib
from typing import Any

with contextlib.suppress(ImportError):  # a missing SDK is reported by AWSInventoryBase.require_aws_sdk
    import botocore

from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.amazon.aws.plugins.plugin_utils.inventory import AWSInventoryBase
from ansible_collections.jupyterops.cloud.plugins.module_utils import _tagged_ec2_options as rules
from ansible_collections.jupyterops.cloud.plugins.plugin_utils import _tagged_ec2 as helpers


class _HostRef(str):
    """A host name as the plugin hands it to the constructed helpers: always the host, never a group."""

    __slots__ = ()


class _HostsFirst:
    """The inventory as the constructed helpers see it: a _HostRef is the host even if a group has its name.

    Ansible's InventoryData resolves a name to a group first (set_variable, add_child), so a keyed group
    that happens to carry a host's name would receive that host's variables, or itself as a child.
    """

    def __init__(self, inventory: Any) -> None:
        self._inventory = inventory

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._inventory, attribute)

    def set_variable(self, entity: str, varname: str, value: Any) -> None:
        """Set a variable on the host a _HostRef names, else as InventoryData does."""
        if isinstance(entity, _HostRef):
            self._inventory.hosts[str(entity)].set_variable(varname, value)
        else:
            self._inventory.set_variable(entity, varname, value)

    def add_child(self, group: str, child: str) -> Any:
        """Add the host a _HostRef names to a group, else as InventoryData does."""
        if isinstance(child, _HostRef):
            return self._inventory.add_host(str(child), group=group)
        return self._inventory.add_child(group, child)

    def add_host(self, host: str, group: str | None = None, port: Any = None) -> str:
        """Add a host (a _HostRef as its plain name)."""
        return self._inventory.add_host(str(host), group=group, port=port)

    def get_host(self, hostname: str) -> Any:
        """Return the host a _HostRef names, else as InventoryData does."""
        if isinstance(hostname, _HostRef):
            return self._inventory.hosts[str(hostname)]
        return self._inventory.get_host(hostname)


class InventoryModule(AWSInventoryBase):
    """Inventory of tagged EC2 instances with stable names and current addresses."""

    NAME = "jupyterops.cloud.tagged_ec2"
    INVENTORY_FILE_SUFFIXES = (".tagged_ec2.yml", ".tagged_ec2.yaml")

    def _do_fail(self, message: str):
        """Fail the inventory source with a parser error."""
        raise AnsibleParserError(message)

    def _check_raw_config(self, path: str, raw: dict[str, Any]) -> None:
        """Reject unknown options and YAML values Ansible would convert silently (true -> 1, no -> False)."""
        definitions = C.config.get_configuration_definitions("inventory", self._load_name) or {}
        known = {"plugin"}
        types: dict[str, str] = {}
        for option, definition in definitions.items():
            names = {option, *(definition.get("aliases") or ())}
            known.update(names)
            types.update(dict.fromkeys(names, definition.get("type") or "str"))
        for option in sorted(set(raw) - known):
            close = difflib.get_close_matches(option, known, n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise AnsibleParserError(f"{path}: unknown option {option!r} for {self.NAME}{hint}")
        for option in sorted(set(raw) & set(types)):
            value, kind = raw[option], types[option]
            if kind in ("bool", "boolean") and not isinstance(value, bool):
                rule = "true or false"
            elif kind in ("int", "integer") and isinstance(value, bool):
                rule = "a whole number"
            elif kind in ("str", "string") and isinstance(value, bool):
                rule = "a string (quote it in the YAML file)"
            else:
                continue
            raise AnsibleParserError(f"{path}: {rules.message(option, rule, value)}")

    def set_options(self, task_keys=None, var_options=None, direct=None):
        """Set the options; for the config file, validate them all before a cache plugin or AWS is used."""
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        if direct is not None:
            self._tagged_settings = self._settings(getattr(self, "_tagged_path", self.NAME), direct)

    def _settings(self, path: str, raw: dict[str, Any]) -> dict[str, Any]:
        """Validate every option of the config file once; raise AnsibleParserError naming each bad one."""
        self._check_raw_config(path, raw)
        definitions = C.config.get_configuration_definitions("inventory", self._load_name) or {}
        options = {name: self.get_option(name) for name in definitions}
        errors = rules.option_errors(options)
        if errors:
            sep = "\n" if len(errors) > 1 else " "
            raise AnsibleParserError(f"{path}:{sep}" + "\n".join(errors))
        opt = options.get
        try:
            settings = {
                "regions": rules.regions_to_query(opt("region"), opt("regions")),
                "tags": helpers.validate_filters("tags", opt("tags")),
                "filters": helpers.validate_filters("filters", opt("filters")),
                "states": helpers.validate_states(opt("instance_states")),
                "preference": helpers.validate_address_preference(opt("address_preference")),
                "jupyter_url_template": None if opt("jupyter_url_template") is None else
                helpers.validate_template("jupyter_url_template", opt("jupyter_url_template")),
                "ssh_tunnel_command_template": helpers.validate_template(
                    "ssh_tunnel_command_template", opt("ssh_tunnel_command_template")),
            }
            helpers.build_filters(settings["tags"], settings["filters"], None)
        except helpers.ConfigError as exc:
            raise AnsibleParserError(f"{path}: {exc}") from exc
        settings.update(
            source=opt("hostname_source"), tag=opt("hostname_tag"), fallback=opt("hostname_fallback"),
            use_private_ip=opt("use_private_ip"), user=opt("ssh_user"),
            identity_file=opt("ssh_identity_file"), jupyter_port=opt("jupyter_port"),
            local_port=opt("tunnel_local_port"), cache=bool(opt("cache")), group=opt("group"),
            endpoint_url=opt("endpoint_url"),
        )
        return settings

    # ------------------------------------------------------------------------------ AWS calls

    def _call(self, what: str, paginator: Any, **kwargs: Any) -> Any:
        """Run one paginated AWS call and return its full result; fail naming the call."""
        try:
            return paginator.paginate(**kwargs).build_full_result()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            self.fail_aws(f"Failed to {what}", exception=exc)

    def _query(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Describe the matching instances of every region; return a cache entry."""
        states = None if settings["cache"] else settings["states"]
        filters = helpers.build_filters(settings["tags"], settings["filters"], states)
        records: list[dict[str, Any]] = []
        other_ids: list[str] | None = []
        for region in settings["regions"]:
            client = self.client("ec2", region=region)
            try:
                addresses = client.describe_addresses().get("Addresses", [])
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                self.fail_aws(f"Failed to describe elastic IPs in {region}", exception=exc)
            eips = {a["InstanceId"]: a["PublicIp"] for a in addresses if a.get("InstanceId")}
            result = self._call(f"describe instances in {region}", client.get_paginator("describe_instances"),
                                Filters=filters)
            found = [helpers.normalize_instance(instance, region, eips)
                     for reservation in result.get("Reservations", [])
                     for instance in reservation["Instances"]]
            records.extend(found)
            if settings["cache"] and other_ids is not None:
                mine = {r["instance_id"] for r in found}
                try:
                    other_ids.extend(i for i in self._states(client, region) if i not in mine)
                except AnsibleParserError as exc:
                    self.warn(f"tagged_ec2: not caching, the cache could not be verified later: {exc}")
                    other_ids = None
        records.sort(key=lambda r: r["instance_id"])
        return {"format": helpers.CACHE_FORMAT, "fingerprint": self._fingerprint(settings),
                "instances": records, "other_ids": None if other_ids is None else sorted(other_ids)}

    def _states(self, client, region: str) -> dict[str, str]:
        """Return instance id -> state name for every instance of a region (one cheap call)."""
        result = self._call(f"describe instance status in {region}",
                            client.get_paginator("describe_instance_status"), IncludeAllInstances=True)
        return {s["InstanceId"]: s["InstanceState"]["Name"] for s in result.get("InstanceStatuses", [])}

    def _fresh_view(self, settings: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
        """Return current states and primary-ENI addresses of every instance in the regions."""
        states: dict[str, str] = {}
        addresses: dict[str, Any] = {}
        for region in settings["regions"]:
            client = self.client("ec2", region=region)
            states.update(self._states(client, region))
            result = self._call(f"describe network interfaces in {region}",
                                client.get_paginator("describe_network_interfaces"))
            addresses.update(helpers.primary_addresses(result.get("NetworkInterfaces", [])))
        return states, addresses

    def _fingerprint(self, settings: dict[str, Any]) -> str:
        """Digest of what decides the query result (regions, filters, endpoint)."""
        return helpers.cache_fingerprint(
            regions=settings["regions"], tags=settings["tags"], filters=settings["filters"],
            endpoint=settings["endpoint_url"])

    # ------------------------------------------------------------------------------ populate

    def _populate(self, entry: dict[str, Any], settings: dict[str, Any]) -> None:
        """Add hosts, groups and variables for the instances of a cache entry."""
        wanted = set(settings["states"])
        records = [r for r in entry["instances"] if r["state"] in wanted]
        compose, groups = self.get_option("compose"), self.get_option("groups")
        keyed = self.get_option("keyed_groups")
        strict = self.get_option("strict")
        constructed = bool(compose or groups or keyed)
        inventory = self.inventory
        # No host takes a group's name: Ansible resolves such a name to the group (the host's variables
        # land on the group, `all` would contain itself). The groups known up front are reserved here.
        reserved = {*rules.RESERVED_GROUPS, *rules.STATE_GROUPS, settings["group"], *(groups or {}),
                    *inventory.groups}
        names, warnings = helpers.assign_names(
            records, settings["source"], settings["tag"], settings["fallback"], reserved)
        for message in warnings:
            self.warn(message)
        templates = {"jupyter_url": settings["jupyter_url_template"],
                     "ssh_tunnel_command": settings["ssh_tunnel_command_template"]}
        shared = helpers.shared_vars(settings)
        hosts = inventory.hosts
        known_groups: set[str] = set()
        listed: dict[str, tuple[dict[str, Any], str | None]] = {}
        # Values shared by every host are group variables of one group (less work per host).
        top = inventory.add_group(settings["group"])
        for key, value in shared.items():
            inventory.set_variable(top, key, value)
        # The constructed helpers address hosts by name; _HostsFirst keeps a keyed group of the same
        # name from capturing them until the clash is resolved below.
        view = _HostsFirst(inventory) if constructed else inventory
        for record in records:
            name = names.get(record["instance_id"])
            if name is None:
                self.display.vvv(f"tagged_ec2: skipping {record['instance_id']}: no usable host name")
                continue
            address = helpers.choose_address(record, settings["preference"], settings["use_private_ip"])
            group = helpers.state_group(record["state"])
            if group not in known_groups:
                inventory.add_group(group)
                known_groups.add(group)
            inventory.add_host(name, group=group)
            inventory.add_host(name, group=top)
            host = hosts[name]
            listed[name] = (record, address)
            hostvars = helpers.host_vars(record, address)
            access = helpers.host_access(record, settings)
            hostvars["jupyter_access"] = access["access"]
            if "jupyter_port" not in shared:
                hostvars["jupyter_port"] = access["port"]
            if "ansible_user" not in shared:
                hostvars["ansible_user"] = access["user"]
            hostvars.update(helpers.connection_vars(record, name, address, settings, templates, access))
            for key, value in hostvars.items():
                host.set_variable(key, value)
            if constructed:
                hostvars = {**shared, **hostvars}
                ref = _HostRef(name)
                self.inventory = view
                try:
                    self._set_composite_vars(compose, hostvars, ref, strict=strict)
                    self._add_host_to_composed_groups(groups, hostvars, ref, strict=strict)
                    self._add_host_to_keyed_groups(keyed, hostvars, ref, strict=strict)
                finally:
                    self.inventory = inventory
        if constructed:
            self._resolve_group_clashes(listed, settings, templates, compose or {})

    def _resolve_group_clashes(self, listed: dict[str, tuple[dict[str, Any], str | None]],
                               settings: dict[str, Any], templates: dict[str, str | None],
                               compose: dict[str, Any]) -> None:
        """Rename the hosts whose name a keyed group took: '<name>-<instance id>', with a warning."""
        inventory = self.inventory
        group_keys = {group.lower() for group in inventory.groups}
        clashes = sorted(name for name in listed if name.lower() in group_keys)
        if not clashes:
            return
        taken = group_keys | {host.lower() for host in inventory.hosts}
        for name in clashes:
            record, address = listed[name]
            instance_id = record["instance_id"]
            new = helpers.suffixed_name(name, instance_id, taken)
            if new is None:
                self.warn(f"tagged_ec2: the host name {name!r} ({instance_id}) is also a group name and "
                          f"{name}-{instance_id} is taken; the name is kept")
                continue
            self.warn(f"tagged_ec2: the host name {name!r} ({instance_id}) is also a group name built by "
                      f"keyed_groups; listed as {new!r}")
            taken.add(new.lower())
            old = inventory.hosts[name]
            memberships, variables = list(old.get_groups()), dict(old.vars)
            inventory.remove_host(old)
            inventory.add_host(new)
            host = inventory.hosts[new]
            for key, value in variables.items():
                host.set_variable(key, value)
            for group in memberships:
                group.add_host(host)
            # Templates that show {name} are rendered again for the new name (unless compose set them).
            access = helpers.host_access(record, settings)
            rendered = helpers.connection_vars(record, new, address, settings, templates, access)
            for key, value in rendered.items():
                template = templates[key] or access["url_template"]
                if key not in compose and "name" in helpers.template_fields(template):
                    host.set_variable(key, value)

    # ------------------------------------------------------------------------------ entry points

    def parse(self, inventory, loader, path, cache=True):
        """Read the config, serve or refresh the cache, query EC2 and populate the inventory."""
        # Reading the config validates every option (set_options) before the cache plugin is loaded,
        # a role is assumed or EC2 is called.
        self._tagged_path = path
        super().parse(inventory, loader, path, cache=cache)
        settings = self._tagged_settings
        entry = None
        key = self.get_cache_key(path) if settings["cache"] else None
        if key and cache:
            try:
                cached = self._cache[key]
            except KeyError:
                cached = None
            if cached is not None:
                try:
                    states, addresses = self._fresh_view(settings)
                except AnsibleParserError as exc:
                    self.warn(f"tagged_ec2: cache not used, states/addresses could not be checked: {exc}")
                    usable, reason = False, "could not check states and addresses"
                else:
                    usable, reason = helpers.cache_decision(
                        cached, self._fingerprint(settings), states, addresses)
                self.display.vvv(f"tagged_ec2: cache {'hit' if usable else 'invalidated'}: {reason}")
                entry = cached if usable else None
        if entry is None:
            entry = self._query(settings)
            if key and entry["other_ids"] is not None:
                self._cache[key] = entry
        try:
            self._populate(entry, settings)
        except (KeyError, TypeError) as exc:
            raise AnsibleParserError(f"{path}: unexpected instance data: {to_native(exc)}") from exc
