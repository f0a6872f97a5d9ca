#!/usr/bin/python3
"""The NixOS module's units against the nucleus they run (t_nixos.sh).

  nixos_check.py units EVAL.json NUCLEUS
      Every unit nix/tests/eval.nix produced: its ExecStart split as
      systemd splits it, parsed by `nucleus run --dry-run`, and the
      effective configuration compared with the container's options (the
      expected values are computed here from the options, not from the
      module's flag table); the unit's fields and tmpfiles rules too.
  nixos_check.py property NUCLEUS EVAL.json...
      Every flag of `nucleus run --help` a service may use is an option's
      (nix/flags.nix), every option's flag is one --help lists, and every
      option's flags appear in the examples' units.

Prints one line per problem and exits 1 when there is any.
"""
import json
import re
import subprocess
import sys

problems = []


def bad(msg):
    problems.append(msg)


# ---- systemd's ExecStart= ------------------------------------------------------

C_ESCAPES = {'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v',
             '\\': '\\', '"': '"', "'": "'", 's': ' '}


def systemd_split(line):
    """A command line as systemd reads ExecStart=: specifiers first (%% is
    %, any other % would be expanded), then words split on whitespace, in
    single or double quotes, C escapes unescaped; $$ is $ (a $VAR would be
    an environment variable: the module never means one)."""
    if re.search(r'%[^%]', line.replace('%%', '')):
        raise ValueError('a % specifier systemd would expand: ' + line)
    line = line.replace('%%', '%')
    words, i, n = [], 0, len(line)
    while True:
        while i < n and line[i] in ' \t\n':
            i += 1
        if i >= n:
            break
        w, quote = '', None
        while i < n:
            c = line[i]
            if quote is None and c in ' \t\n':
                break
            if quote is None and c in '"\'':
                quote = c
                i += 1
                continue
            if quote is not None and c == quote:
                quote = None
                i += 1
                continue
            if c == '\\':
                i += 1
                if i >= n:
                    raise ValueError('a trailing backslash: ' + line)
                e = line[i]
                if e in C_ESCAPES:
                    w += C_ESCAPES[e]
                    i += 1
                elif e == 'x':
                    w += chr(int(line[i + 1:i + 3], 16))
                    i += 3
                elif e == 'u':
                    w += chr(int(line[i + 1:i + 5], 16))
                    i += 5
                elif e == 'U':
                    w += chr(int(line[i + 1:i + 9], 16))
                    i += 9
                elif e in '01234567':
                    w += chr(int(line[i:i + 3], 8))
                    i += 3
                else:
                    raise ValueError('an escape systemd refuses: \\' + e)
                continue
            w += c
            i += 1
        if quote is not None:
            raise ValueError('an unterminated quote: ' + line)
        if re.search(r'\$[^$]', w.replace('$$', '')):
            raise ValueError('an environment variable systemd would expand in ' + repr(w))
        words.append(w.replace('$$', '$'))
    return words


# ---- the CLI's units -------------------------------------------------------------

def size(v):
    if isinstance(v, int):
        return v
    m = re.fullmatch(r'([0-9]+)([KkMmGgTt]?)', v)
    return int(m.group(1)) * 1024 ** ' kmgt'.index((m.group(2) or ' ').lower())


def duration_ns(v):
    if isinstance(v, (int, float)):
        return int(v * 1e9)
    if re.fullmatch(r'[0-9.]+', v):
        return int(float(v) * 1e9)
    unit = {'ns': 1, 'us': 10 ** 3, 'ms': 10 ** 6, 's': 10 ** 9, 'm': 60 * 10 ** 9, 'h': 3600 * 10 ** 9}
    return int(sum(float(n) * unit[u] for n, u in re.findall(r'([0-9.]+)(ns|us|ms|s|m|h)', v)))


def probe(v):
    if v is None:
        return {'cmd': None, 'shell': False}
    if isinstance(v, list):
        return {'cmd': v, 'shell': False}
    return {'cmd': [v], 'shell': True}


def first(port):
    return int(str(port).split('-')[0])


def count(port):
    a = str(port).split('-')
    return int(a[-1]) - int(a[0]) + 1


def eq(what, got, want):
    if got != want:
        bad(f'{what}: the option says {want!r}, nucleus run --dry-run has {got!r}')


# ---- one container ---------------------------------------------------------------

def check_container(name, o, unit, tmpfiles, nucleus):
    sc = unit['serviceConfig']
    where = f'nucleus-{name}'
    try:
        argv = systemd_split(sc['ExecStart'])
    except ValueError as e:
        bad(f'{where}: ExecStart: {e}')
        return
    if argv[:5] != [argv[0], 'run', '--service-mode', 'production', '--name'] or not argv[0].endswith('/bin/nucleus'):
        bad(f'{where}: ExecStart does not start with nucleus run --service-mode production --name: {argv[:5]}')
        return
    p = subprocess.run([nucleus, 'run', '--dry-run'] + argv[2:], capture_output=True, text=True)
    if p.returncode != 0:
        bad(f'{where}: nucleus run --dry-run refused the ExecStart ({p.returncode}): {p.stderr.strip()}')
        return
    d = json.loads(p.stdout)
    proc, fs, net, sec, res, svc = (d['process'], d['filesystem'], d['network'], d['security'],
                                    d['resources'], d['service'])
    lim = res['limits']
    w = where + ': '
    eq(w + 'name', d['name'], name)
    eq(w + 'mode', d['mode'], 'production')
    eq(w + 'command', proc['argv'], o['command'])
    dd = argv.index('--')
    # numbers as a person writes them (0.5, 2), not Nix's toString of a float
    for a in argv[:dd]:
        if re.fullmatch(r'[0-9]*\.[0-9]*0|[0-9]+\.', a):
            bad(f'{w}a number with trailing zeros: {a}')
    eq(w + 'extraArgs, as they are, last before --', argv[dd - len(o['extraArgs']):dd], o['extraArgs'])
    for k, v in o['environment'].items():
        if f'{k}={v}' not in proc['env']:
            bad(f'{w}environment {k}={v!r} is not in {proc["env"]!r}')
    ident = proc['identity']
    eq(w + 'user', ident['user'], o['user'])
    eq(w + 'group', ident['group'], o['group'])
    eq(w + 'supplementaryGroups', ident['additional_groups'] or [], o['supplementaryGroups'])
    if o['workdir'] is not None:
        eq(w + 'workdir', proc['workdir'], o['workdir'])
    eq(w + 'hostname', proc['hostname'], o['hostname'])
    eq(w + 'userns', d['namespaces']['userns'], o['userns'])
    eq(w + 'timeNamespace', d['namespaces']['time'], o['timeNamespace'])
    # the runtime and the trust level
    want_kind = 'native'
    if o['runtime'] is not None:
        want_kind = 'oci' if o['runtime'].startswith('oci:') else o['runtime']
    elif o['trustLevel'] == 'untrusted':
        want_kind = 'gvisor'    # --trust-level untrusted implies --runtime gvisor
    eq(w + 'runtime', d['runtime']['kind'], want_kind)
    eq(w + 'gvisorPlatform', d['runtime']['gvisor_platform'], o['gvisorPlatform'])
    eq(w + 'trustLevel', sec['trust_level'], o['trustLevel'] or 'trusted')
    eq(w + 'requireKernelLockdown', sec['require_lockdown'], o['requireKernelLockdown'] or 'none')
    eq(w + 'audit', d['audit']['opt_out'], not o['audit'])
    eq(w + 'audit (production turns it on)', d['audit']['enabled'], o['audit'])
    ao = d['audit']['audit_opts']
    if 'max-size' in o['auditOptions']:
        eq(w + 'auditOptions.max-size', ao['max_size'], size(o['auditOptions']['max-size']))
    if 'max-file' in o['auditOptions']:
        eq(w + 'auditOptions.max-file', ao['max_files'], int(o['auditOptions']['max-file']))
    # the root filesystem
    eq(w + 'rootfs', fs['rootfs'], o['rootfs'])
    eq(w + 'verifyRootfsAttestation', fs['verify_attestation'],
       o['verifyRootfsAttestation'] or o['rootfsAttestationSha256'] is not None)
    eq(w + 'no attestation', fs['no_attestation'], not o['verifyRootfsAttestation'])
    eq(w + 'rootfsAttestationSha256', fs['attestation_sha256'], o['rootfsAttestationSha256'])
    # resources
    eq(w + 'memory', lim['memory_max'], size(o['memory']))
    eq(w + 'swap', lim['swap'], o['swap'])
    if o['cpus'] is not None:
        eq(w + 'cpus (quota/period)', (lim['cpu_quota_us'], lim['cpu_period_us']), (round(o['cpus'] * 100000), 100000))
    else:
        eq(w + 'cpus', lim['cpu_quota_us'], 0)
    eq(w + 'cpuWeight', lim['cpu_weight'], o['cpuWeight'] or 0)
    eq(w + 'pids', lim['pids_max'], 512 if o['pids'] is None else o['pids'])
    eq(w + 'ioLimits', len(lim['io']), len(o['ioLimits']))
    if o['memlock'] is not None:
        eq(w + 'memlock', res['rlimits']['memlock'], size(o['memlock']))
    if o['tmpfsSize'] is not None:
        eq(w + 'tmpfsSize', fs['tmpfs_size'], size(o['tmpfsSize']))
    # data
    eq(w + 'volumes', fs['volumes'],
       [{'src': v['source'], 'dest': v['dest'], 'access': 'ro' if v['readOnly'] else 'rw', 'exec': v['exec'],
         'chown': False} for v in o['volumes']])
    eq(w + 'tmpfs', fs['tmpfs'],
       [{'dest': t['dest'], 'size': size(t['size']) if t['size'] else 64 << 20,
         'mode': int(t['mode'], 8) if t['mode'] else 0o1777, 'exec': t['exec']} for t in o['tmpfs']])
    eq(w + 'secrets and credentials', fs['secrets'],
       [{'src': s['source'], 'dest': s['dest'], 'credential': None} for s in o['secrets']] +
       [{'src': None, 'dest': c['dest'], 'credential': c['name']} for c in o['credentials']])
    eq(w + 'credentialsPassthrough', fs['credentials_passthrough'], o['credentialsPassthrough'])
    # network
    eq(w + 'network', net['mode'], o['network'] or 'none')
    if o['bridge'] is not None:
        eq(w + 'bridge', net['bridge']['name'], o['bridge'])
    for s in o['subnets']:
        if s not in (net['bridge']['subnet4'], net['bridge']['subnet6']):
            bad(f'{w}subnet {s} is not the bridge\'s ({net["bridge"]["subnet4"]}, {net["bridge"]["subnet6"]})')
    eq(w + 'portForwards', [(p['host_ip'], p['host_port'], p['cont_port'], p['count'], p['proto'])
                            for p in net['bridge']['ports']],
       [(p['hostAddress'], first(p['hostPort']), first(p['containerPort']), count(p['hostPort']), p['protocol'])
        for p in o['portForwards']])
    if o['dns']:
        eq(w + 'dns', net['dns'], o['dns'])
    eq(w + 'dnsSearch', net['dns_search'] or [], o['dnsSearch'])
    eq(w + 'addHosts', net['add_hosts'] or [], [f'{k}:{v}' for k, v in sorted(o['addHosts'].items())])
    eg = net['egress']
    eq(w + 'egress (production: deny by default)', eg['enabled'], True)
    eq(w + 'egressAllow', eg['allow'], o['egressAllow'])
    eq(w + 'egressTcpPorts', eg['tcp_ports'], o['egressTcpPorts'])
    eq(w + 'egressUdpPorts', eg['udp_ports'], o['egressUdpPorts'])
    # policies and their pins
    for opt, key in (('seccompProfile', 'seccomp_profile'), ('capsPolicy', 'caps_policy'),
                     ('landlockPolicy', 'landlock_policy')):
        v = o[opt]
        eq(w + opt + '.path', sec[key], v['path'] if v else None)
        eq(w + opt + '.sha256', sec[key + '_sha256'], v['sha256'] if v else None)
    eq(w + 'seccompLogDenied', sec['seccomp_log_denied'], o['seccompLogDenied'])
    if o['landlockPolicy'] is not None and sec['landlock'] is None:
        bad(w + 'the Landlock policy was not loaded')
    # supervision
    h = svc['health']
    eq(w + 'healthCheck', h['probe'], probe(o['healthCheck']))
    for opt, key, default in (('healthInterval', 'interval_ns', 30), ('healthTimeout', 'timeout_ns', 30),
                              ('healthStartPeriod', 'start_period_ns', 0), ('healthStartInterval', 'start_interval_ns', 5)):
        eq(w + opt, h[key], duration_ns(default if o[opt] is None else o[opt]))
    eq(w + 'healthRetries', h['retries'], o['healthRetries'] or 3)
    eq(w + 'healthOnFailure', h['on_failure'], o['healthOnFailure'] or 'none')
    eq(w + 'readinessCheck', svc['readiness'], probe(o['readinessCheck']))
    eq(w + 'readinessTcpPort', svc['readiness_tcp'], o['readinessTcpPort'] or 0)
    sd = o['sdNotify']
    eq(w + 'sdNotify', svc['sd_notify'], 'off' if sd is False else 'ready' if sd is True else sd)

    # the unit around it
    eq(w + 'Type', sc.get('Type'), 'simple' if sd is False else 'notify')
    eq(w + 'NotifyAccess', sc.get('NotifyAccess'), None if sd is False else 'main')
    for k, v in (('Restart', 'on-failure'), ('RestartSec', '5s'), ('SyslogIdentifier', where),
                 ('ProtectSystem', 'strict'), ('ProtectHome', True), ('RuntimeDirectoryPreserve', 'yes'),
                 ('LogsDirectory', 'nucleus'), ('CacheDirectory', 'nucleus')):
        eq(f'{w}unit {k}', sc.get(k), v)
    if 'nucleus' not in sc.get('RuntimeDirectory', []):
        bad(w + 'RuntimeDirectory lacks nucleus (/run/nucleus, its state)')
    if 'network-online.target' not in unit['after'] or 'network-online.target' not in unit['wants']:
        bad(w + 'not after network-online.target')
    eq(w + 'ReadWritePaths', sc.get('ReadWritePaths'), [v['source'] for v in o['volumes'] if not v['readOnly']])
    for key, enc in (('LoadCredential', False), ('LoadCredentialEncrypted', True)):
        want = [f'{c["name"]}:{c["source"]}' for c in o['credentials'] if c['encrypted'] == enc]
        eq(w + key, sc.get(key, []), want)
    user = (o['user'] or 'root').split(':')[0]
    group = o['group'] or (o['user'].split(':')[-1] if o['user'] and ':' in o['user'] else user)
    for v in o['volumes']:
        if not v['createHostPath']:
            continue
        rule = f'd {v["source"]} {v["mode"]} {v["owner"] or user} {v["ownerGroup"] or group} - -'
        if rule not in tmpfiles:
            bad(f'{w}no tmpfiles rule [{rule}] in {tmpfiles}')
    return argv


def check_topology(name, unit, nucleus):
    sc = unit['serviceConfig']
    w = f'nucleus-topology-{name}: '
    eq(w + 'Type', sc.get('Type'), 'oneshot')
    eq(w + 'RemainAfterExit', sc.get('RemainAfterExit'), True)
    up, down = systemd_split(sc['ExecStart']), systemd_split(sc['ExecStop'])
    eq(w + 'ExecStart', up[1:3] + up[4:], ['compose', '-f', 'up', '-d'])
    eq(w + 'ExecStop', down[1:3] + down[4:], ['compose', '-f', 'down'])
    eq(w + 'the same file', down[3], up[3])
    p = subprocess.run([nucleus, 'compose', '-f', up[3], 'validate'], capture_output=True, text=True)
    if p.returncode != 0:
        bad(f'{w}nucleus compose -f {up[3]} validate: {p.stderr.strip()}')


def units(path, nucleus):
    ev = json.load(open(path))
    n = 0
    for name, o in ev['containers'].items():
        unit = ev['services'].get(f'nucleus-{name}')
        if not o['enable']:
            if unit:
                bad(f'nucleus-{name}: a unit for a disabled container')
            continue
        if not unit:
            bad(f'nucleus-{name}: no unit')
            continue
        check_container(name, o, unit, ev['tmpfiles'], nucleus)
        n += 1
    for u in ev['services']:
        if u.startswith('nucleus-topology-'):
            check_topology(u[len('nucleus-topology-'):], ev['services'][u], nucleus)
            n += 1
    print(f'{n} units checked')


# ---- the property: options and flags, both ways ----------------------------------

# Flags of `nucleus run` no option has, and why. Everything else --help
# lists must be an option's (nix/flags.nix), so a new flag fails the test
# until it gets an option or a line here.
EXCLUDED = {
    # set by the module itself, the same for every unit
    '--service-mode': 'always production',
    '--name': 'the attribute name',
    # the unit is the supervisor: systemd runs it in the foreground, restarts it, keeps its output
    '--detach': 'the unit runs nucleus in the foreground (its main process)',
    '-d': 'short form of --detach',
    '--rm': 'a foreground container is always removed',
    '--log-opt': "caps the -d log; a unit's output goes to the journal",
    '--restart': "systemd's Restart= restarts the unit",
    '--tty': 'no terminal under systemd', '-t': 'short form of --tty',
    '--interactive': 'no stdin under systemd', '-i': 'short form of --interactive',
    # agent sandboxes' workspace: no /context in a service
    '--context': 'agent workspace', '--context-mode': 'agent workspace',
    '--verify-context-integrity': 'agent workspace',
    # weakenings production mode refuses, or trace mode
    '--allow-exec': 'production forbids --allow-*', '--allow-memfd-exec': 'production forbids --allow-*',
    '--allow-chroot-fallback': 'production forbids --allow-*',
    '--allow-degraded-security': 'production forbids --allow-*',
    '--allow-host-network': 'production forbids host networking',
    '--seccomp-mode': 'trace mode is refused in production; enforce is the default',
    '--seccomp-log': 'trace mode only',
    '--limits': 'best-effort is refused in production',
    '--rootless': 'production needs root',
    '--disable-cgroup-namespace': 'a weakening without a service use',
    # what production mode turns on by itself
    '--init': 'production runs the mini-init', '--audit': 'production records the audit trail',
    '--require-cgroup': 'production requires the cgroup',
    # compose's or nothing's
    '--hosts-file': "compose's shared hosts file",
    '--no-healthcheck': 'no image supplies a check to turn off: healthCheck = null is none',
    '--dry-run': 'the tests use it', '--help': 'not a run', '-h': 'short form of --help',
}
# short forms: the table names the long flag
SHORT = {'-e': '--env', '-w': '--workdir', '-u': '--user', '-v': '--volume', '-p': '--publish'}
# options that are no flag: the unit's switch, the argv after --, free flags
NOT_FLAGS = {'enable': 'the unit exists or not', 'command': 'the argv after --',
             'extraArgs': 'flags given as they are'}


def none(what, got):
    if got:
        bad(f'{what}: {" ".join(got)}')


def help_flags(nucleus):
    out = subprocess.run([nucleus, 'run', '--help'], capture_output=True, text=True, check=True).stdout
    flags = set()
    for line in out.splitlines():
        m = re.match(r'^  (-[A-Za-z]), (--[a-z0-9-]+)', line) or re.match(r'^      (--[a-z0-9-]+)', line)
        if m:
            flags.update(m.groups())
    return flags


def prop(nucleus, evals):
    evs = [json.load(open(p)) for p in evals]
    table, options = evs[0]['flagTable'], set(evs[0]['containerOptions'])
    have = help_flags(nucleus)
    if len(have) < 60 or '--memory' not in have:
        bad(f'nucleus run --help gave {len(have)} flags: the parse is broken')
    in_table = {f for e in table for f in e['flags']}
    # every option is a flag, and every flag-giving option is in the table
    none('options that are no table entry', sorted(options - set(NOT_FLAGS) - {e['option'] for e in table}))
    none('table entries that are no option', sorted({e['option'] for e in table} - options))
    none("the table's flags that nucleus run does not have", sorted(in_table - have))
    # every flag a service may use is an option's
    usable = {SHORT.get(f, f) for f in have if f not in EXCLUDED}
    none('flags of nucleus run without an option (add one, or a line to EXCLUDED)', sorted(usable - in_table))
    none('flags both excluded and in the table', sorted(in_table & set(EXCLUDED)))
    none('EXCLUDED names flags nucleus run does not have', sorted(set(EXCLUDED) - have))
    # and the module renders each: the examples' units together use every flag
    used = set()
    for ev in evs:
        for u, unit in ev['services'].items():
            if u.startswith('nucleus-topology-'):
                continue
            argv = systemd_split(unit['serviceConfig']['ExecStart'])
            used.update(a.split('=')[0] for a in argv[:argv.index('--')] if a.startswith('--'))
    none("the table's flags no example's unit renders", sorted(in_table - used))
    print(f'{len(have)} flags of nucleus run: {len(in_table)} from {len(table)} options, {len(EXCLUDED)} excluded')


if __name__ == '__main__':
    try:
        if sys.argv[1] == 'units':
            units(sys.argv[2], sys.argv[3])
        elif sys.argv[1] == 'property':
            prop(sys.argv[2], sys.argv[3:])
        else:
            sys.exit(__doc__)
    except (ValueError, KeyError) as e:
        bad(f'{type(e).__name__}: {e}')
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)
