/**
 * Kernel audit telemetry: audit rules added and removed for real, real audit log lines into
 * normalized events, the log followed across appends, cut lines, rotation and truncation, and (where
 * the kernel audits and auditd runs) a program run seen live.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { AuditdAssembly, type FirebreakEvent } from '@firebreak/core';
import { AuditTelemetry, auditEventToAgentEvents, decodeSockaddr } from '../src/host/auditd.js';
import { ExecutableHasher } from '../src/host/proc.js';
import { sha256Of, waitFor } from './support/host.js';

const run = promisify(execFile);
const GS = '\x1d';
const work = mkdtempSync(join(tmpdir(), 'firebreak-audit-'));
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * Lines auditd 3 wrote (ENRICHED format) on this project's test machine (kernel 6.18, x86_64) while
 * the agent's rules were loaded: `/bin/echo` with arguments auditd hex-encodes, `id` found on the
 * PATH after failed tries, node connecting over TCP to 127.0.0.1 and ::1 and over UDP, a connect to
 * a closed port, `touch` creating files under the watched /root/.ssh (by absolute and by relative
 * name) and a shell appending to one.
 */
const CAPTURED = [
  `type=SYSCALL msg=audit(1796058132.862:499): arch=c000003e syscall=59 success=yes exit=0 a0=7ffdfbf9a508 a1=447c6810 a2=448bd1f0 a3=8 items=2 ppid=17052 pid=17099 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="echo" exe="/usr/bin/echo" key="firebreak"${GS}ARCH=x86_64 SYSCALL=execve AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=BPRM_FCAPS msg=audit(1796058132.862:499): fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0`,
  `type=EXECVE msg=audit(1796058132.862:499): argc=4 a0="/bin/echo" a1=66697265627265616B2070726F6265 a2=71756F74652264 a3=7461620968657265`,
  `type=CWD msg=audit(1796058132.862:499): cwd="/tmp/fbcap"`,
  `type=PATH msg=audit(1796058132.862:499): item=0 name="/bin/echo" inode=260249 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PATH msg=audit(1796058132.862:499): item=1 name="/lib64/ld-linux-x86-64.so.2" inode=338944 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PROCTITLE msg=audit(1796058132.862:499): proctitle=2F62696E2F6563686F0066697265627265616B2070726F62650071756F74652264007461620968657265`,
  `type=SYSCALL msg=audit(1796058132.874:500): arch=c000003e syscall=59 success=no exit=-2 a0=7ffdfbf9a220 a1=448c53f0 a2=448bd1f0 a3=8 items=1 ppid=17052 pid=17100 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="node" exe="/usr/bin/node" key="firebreak"${GS}ARCH=x86_64 SYSCALL=execve AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=CWD msg=audit(1796058132.874:500): cwd="/tmp/fbcap"`,
  `type=PATH msg=audit(1796058132.874:500): item=0 name="/root/.cargo/bin/id" nametype=UNKNOWN cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0`,
  `type=PROCTITLE msg=audit(1796058132.874:500): proctitle=6E6F646500636170747572652E6D6A73`,
  `type=SYSCALL msg=audit(1796058132.874:508): arch=c000003e syscall=59 success=yes exit=0 a0=7ffdfbf9a220 a1=448c53f0 a2=448bd1f0 a3=8 items=2 ppid=17052 pid=17100 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="id" exe="/usr/bin/id" key="firebreak"${GS}ARCH=x86_64 SYSCALL=execve AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=BPRM_FCAPS msg=audit(1796058132.874:508): fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0`,
  `type=EXECVE msg=audit(1796058132.874:508): argc=1 a0="id"`,
  `type=CWD msg=audit(1796058132.874:508): cwd="/tmp/fbcap"`,
  `type=PATH msg=audit(1796058132.874:508): item=0 name="/usr/bin/id" inode=260399 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PATH msg=audit(1796058132.874:508): item=1 name="/lib64/ld-linux-x86-64.so.2" inode=338944 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PROCTITLE msg=audit(1796058132.874:508): proctitle=6E6F646500636170747572652E6D6A73`,
  `type=SYSCALL msg=audit(1796058133.030:510): arch=c000003e syscall=42 success=no exit=-115 a0=12 a1=7ffde1d7bd80 a2=10 a3=c items=0 ppid=17052 pid=17101 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="node" exe="/usr/bin/node" key="firebreak"${GS}ARCH=x86_64 SYSCALL=connect AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=SOCKADDR msg=audit(1796058133.030:510): saddr=0200A4D57F0000010000000000000000${GS}SADDR={ saddr_fam=inet laddr=127.0.0.1 lport=42197 }`,
  `type=PROCTITLE msg=audit(1796058133.030:510): proctitle=2F7573722F62696E2F6E6F6465002D6500636F6E7374206E65743D7265717569726528276E657427293B636F6E737420643D726571756972652827646772616D27293B6C6574206E3D303B636F6E737420646F6E653D28293D3E7B6966282B2B6E3D3D3D332970726F636573732E657869742830297D3B636F6E737420613D6E`,
  `type=SYSCALL msg=audit(1796058133.038:511): arch=c000003e syscall=42 success=no exit=-115 a0=13 a1=7ffde1d7bda0 a2=1c a3=a55ed7d209f3b632 items=0 ppid=17052 pid=17101 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="node" exe="/usr/bin/node" key="firebreak"${GS}ARCH=x86_64 SYSCALL=connect AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=SOCKADDR msg=audit(1796058133.038:511): saddr=0A00A4D5000000000000000000000000000000000000000100000000${GS}SADDR={ saddr_fam=inet6 laddr=::1 lport=42197 }`,
  `type=PROCTITLE msg=audit(1796058133.038:511): proctitle=2F7573722F62696E2F6E6F6465002D6500636F6E7374206E65743D7265717569726528276E657427293B636F6E737420643D726571756972652827646772616D27293B6C6574206E3D303B636F6E737420646F6E653D28293D3E7B6966282B2B6E3D3D3D332970726F636573732E657869742830297D3B636F6E737420613D6E`,
  `type=SYSCALL msg=audit(1796058133.038:512): arch=c000003e syscall=42 success=yes exit=0 a0=14 a1=7ffde1d7bdc0 a2=10 a3=1c items=0 ppid=17052 pid=17101 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="node" exe="/usr/bin/node" key="firebreak"${GS}ARCH=x86_64 SYSCALL=connect AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=SOCKADDR msg=audit(1796058133.038:512): saddr=0200D11F7F0000010000000000000000${GS}SADDR={ saddr_fam=inet laddr=127.0.0.1 lport=53535 }`,
  `type=PROCTITLE msg=audit(1796058133.038:512): proctitle=2F7573722F62696E2F6E6F6465002D6500636F6E7374206E65743D7265717569726528276E657427293B636F6E737420643D726571756972652827646772616D27293B6C6574206E3D303B636F6E737420646F6E653D28293D3E7B6966282B2B6E3D3D3D332970726F636573732E657869742830297D3B636F6E737420613D6E`,
  `type=SYSCALL msg=audit(1796058133.054:513): arch=c000003e syscall=59 success=yes exit=0 a0=7ffdfbf9a628 a1=447c68d0 a2=448bd1f0 a3=8 items=2 ppid=17052 pid=17108 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="node" exe="/usr/bin/node" key="firebreak"${GS}ARCH=x86_64 SYSCALL=execve AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=BPRM_FCAPS msg=audit(1796058133.054:513): fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0`,
  `type=EXECVE msg=audit(1796058133.054:513): argc=3 a0="/usr/bin/node" a1="-e" a2="require('net').connect(1,'127.0.0.1').on('error',()=>process.exit(0))"`,
  `type=CWD msg=audit(1796058133.054:513): cwd="/tmp/fbcap"`,
  `type=PATH msg=audit(1796058133.054:513): item=0 name="/usr/bin/node" inode=260689 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PATH msg=audit(1796058133.054:513): item=1 name="/lib64/ld-linux-x86-64.so.2" inode=338944 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PROCTITLE msg=audit(1796058133.054:513): proctitle=2F7573722F62696E2F6E6F6465002D65007265717569726528276E657427292E636F6E6E65637428312C273132372E302E302E3127292E6F6E28276572726F72272C28293D3E70726F636573732E6578697428302929`,
  `type=SYSCALL msg=audit(1796058133.154:514): arch=c000003e syscall=42 success=no exit=-115 a0=12 a1=7ffc74b9b230 a2=10 a3=c items=0 ppid=17052 pid=17108 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="node" exe="/usr/bin/node" key="firebreak"${GS}ARCH=x86_64 SYSCALL=connect AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=SOCKADDR msg=audit(1796058133.154:514): saddr=020000017F0000010000000000000000${GS}SADDR={ saddr_fam=inet laddr=127.0.0.1 lport=1 }`,
  `type=PROCTITLE msg=audit(1796058133.154:514): proctitle=2F7573722F62696E2F6E6F6465002D65007265717569726528276E657427292E636F6E6E65637428312C273132372E302E302E3127292E6F6E28276572726F72272C28293D3E70726F636573732E6578697428302929`,
  `type=SYSCALL msg=audit(1796058133.162:515): arch=c000003e syscall=59 success=yes exit=0 a0=7ffdfbf9a628 a1=448374a0 a2=448bd1f0 a3=8 items=2 ppid=17052 pid=17115 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="touch" exe="/usr/bin/touch" key="firebreak"${GS}ARCH=x86_64 SYSCALL=execve AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=BPRM_FCAPS msg=audit(1796058133.162:515): fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0`,
  `type=EXECVE msg=audit(1796058133.162:515): argc=2 a0="/usr/bin/touch" a1="/root/.ssh/fbprobe-abs"`,
  `type=CWD msg=audit(1796058133.162:515): cwd="/tmp/fbcap"`,
  `type=PATH msg=audit(1796058133.162:515): item=0 name="/usr/bin/touch" inode=260954 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PATH msg=audit(1796058133.162:515): item=1 name="/lib64/ld-linux-x86-64.so.2" inode=338944 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PROCTITLE msg=audit(1796058133.162:515): proctitle=2F7573722F62696E2F746F756368002F726F6F742F2E7373682F666270726F62652D616273`,
  `type=SYSCALL msg=audit(1796058133.166:516): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=7ffec89aead1 a2=941 a3=1b6 items=2 ppid=17052 pid=17115 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="touch" exe="/usr/bin/touch" key="firebreak"${GS}ARCH=x86_64 SYSCALL=openat AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=CWD msg=audit(1796058133.166:516): cwd="/tmp/fbcap"`,
  `type=PATH msg=audit(1796058133.166:516): item=0 name="/root/.ssh/" inode=16039937 dev=fe:00 mode=040700 ouid=0 ogid=0 rdev=00:00 nametype=PARENT cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PATH msg=audit(1796058133.166:516): item=1 name="/root/.ssh/fbprobe-abs" inode=16039944 dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=CREATE cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PROCTITLE msg=audit(1796058133.166:516): proctitle=2F7573722F62696E2F746F756368002F726F6F742F2E7373682F666270726F62652D616273`,
  `type=SYSCALL msg=audit(1796058133.166:517): arch=c000003e syscall=59 success=yes exit=0 a0=7ffdfbf9a628 a1=44837480 a2=448bd1f0 a3=8 items=2 ppid=17052 pid=17116 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="touch" exe="/usr/bin/touch" key="firebreak"${GS}ARCH=x86_64 SYSCALL=execve AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=BPRM_FCAPS msg=audit(1796058133.166:517): fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0`,
  `type=EXECVE msg=audit(1796058133.166:517): argc=2 a0="/usr/bin/touch" a1="fbprobe-rel"`,
  `type=CWD msg=audit(1796058133.166:517): cwd="/root/.ssh"`,
  `type=PATH msg=audit(1796058133.166:517): item=0 name="/usr/bin/touch" inode=260954 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PATH msg=audit(1796058133.166:517): item=1 name="/lib64/ld-linux-x86-64.so.2" inode=338944 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PROCTITLE msg=audit(1796058133.166:517): proctitle=2F7573722F62696E2F746F75636800666270726F62652D72656C`,
  `type=SYSCALL msg=audit(1796058133.166:518): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=7fff4fff0adc a2=941 a3=1b6 items=2 ppid=17052 pid=17116 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="touch" exe="/usr/bin/touch" key="firebreak"${GS}ARCH=x86_64 SYSCALL=openat AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=CWD msg=audit(1796058133.166:518): cwd="/root/.ssh"`,
  `type=PATH msg=audit(1796058133.166:518): item=0 name="/root/.ssh" inode=16039937 dev=fe:00 mode=040700 ouid=0 ogid=0 rdev=00:00 nametype=PARENT cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PATH msg=audit(1796058133.166:518): item=1 name="fbprobe-rel" inode=16039945 dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=CREATE cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PROCTITLE msg=audit(1796058133.166:518): proctitle=2F7573722F62696E2F746F75636800666270726F62652D72656C`,
  `type=SYSCALL msg=audit(1796058133.170:519): arch=c000003e syscall=59 success=yes exit=0 a0=7ffdfbf9a628 a1=44831780 a2=448bd1f0 a3=8 items=2 ppid=17052 pid=17117 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="sh" exe="/usr/bin/dash" key="firebreak"${GS}ARCH=x86_64 SYSCALL=execve AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=BPRM_FCAPS msg=audit(1796058133.170:519): fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0`,
  `type=EXECVE msg=audit(1796058133.170:519): argc=3 a0="/bin/sh" a1="-c" a2=6563686F2078203E3E202F726F6F742F2E7373682F666270726F62652D6162733B20726D202D66202F726F6F742F2E7373682F666270726F62652D616273202F726F6F742F2E7373682F666270726F62652D72656C`,
  `type=CWD msg=audit(1796058133.170:519): cwd="/tmp/fbcap"`,
  `type=PATH msg=audit(1796058133.170:519): item=0 name="/bin/sh" inode=260180 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PATH msg=audit(1796058133.170:519): item=1 name="/lib64/ld-linux-x86-64.so.2" inode=338944 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PROCTITLE msg=audit(1796058133.170:519): proctitle=2F62696E2F7368002D63006563686F2078203E3E202F726F6F742F2E7373682F666270726F62652D6162733B20726D202D66202F726F6F742F2E7373682F666270726F62652D616273202F726F6F742F2E7373682F666270726F62652D72656C`,
  `type=SYSCALL msg=audit(1796058133.170:520): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=55ce3936aa90 a2=441 a3=1b6 items=1 ppid=17052 pid=17117 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="sh" exe="/usr/bin/dash" key="firebreak"${GS}ARCH=x86_64 SYSCALL=openat AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
  `type=CWD msg=audit(1796058133.170:520): cwd="/tmp/fbcap"`,
  `type=PATH msg=audit(1796058133.170:520): item=0 name="/root/.ssh/fbprobe-abs" inode=16039944 dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PROCTITLE msg=audit(1796058133.170:520): proctitle=2F62696E2F7368002D63006563686F2078203E3E202F726F6F742F2E7373682F666270726F62652D6162733B20726D202D66202F726F6F742F2E7373682F666270726F62652D616273202F726F6F742F2E7373682F666270726F62652D72656C`,
];

/** The records of the event with this serial. */
function serial(n: number): string[] {
  return CAPTURED.filter((line) => line.includes(`:${n}):`));
}

function assemble(lines: string[]): FirebreakEvent[] {
  const problems: string[] = [];
  const assembly = new AuditdAssembly('fixture', (line, message) => problems.push(`${line}: ${message}`));
  const events: FirebreakEvent[] = [];
  lines.forEach((line, i) => assembly.add(line, i + 1, events));
  assembly.end(events);
  assert.deepEqual(problems, []);
  return events;
}

const convert = (lines: string[], options = {}): Record<string, unknown>[] =>
  assemble(lines).flatMap((event) => auditEventToAgentEvents(event, 'audited-host', options));

/** The fields every converted event of the capture shares: the audit time, the host, the actor. */
function actor(stamp: number, image: string, pid: number): Record<string, unknown> {
  return {
    _source: 'firebreak-agent',
    '@timestamp': new Date(stamp).toISOString(),
    Computer: 'audited-host',
    Image: image,
    ProcessId: pid,
    User: 'root',
  };
}

test('real audit events: program runs, connections and watched writes as normalized events', () => {
  const run = (stamp: number, pid: number, image: string, commandLine: string, cwd = '/tmp/fbcap'): Record<string, unknown> => ({
    ...actor(stamp, image, pid),
    _kind: 'process_creation',
    CommandLine: commandLine,
    ParentProcessId: 17052,
    CurrentDirectory: cwd,
  });
  const connection = (stamp: number, address: string, port: number): Record<string, unknown> => ({
    ...actor(stamp, '/usr/bin/node', stamp === 1796058133154 ? 17108 : 17101),
    _kind: 'network_connection',
    Initiated: 'true',
    DestinationIp: address,
    DestinationPort: port,
    DestinationIsIpv6: address.includes(':') ? 'true' : 'false',
  });
  const write = (stamp: number, pid: number, image: string, target: string): Record<string, unknown> => ({
    ...actor(stamp, image, pid),
    _kind: 'file_event',
    TargetFilename: target,
  });
  assert.deepEqual(convert(CAPTURED), [
    // Arguments hex-encoded in the log (a space, a quote, a tab) come out as they were given.
    run(1796058132862, 17099, '/usr/bin/echo', '/bin/echo firebreak probe quote"d tab\there'),
    // The failed tries along the PATH (success=no, no EXECVE record) are no program run.
    run(1796058132874, 17100, '/usr/bin/id', 'id'),
    // A non-blocking connect is under way (EINPROGRESS), and is a connection; a UDP connect succeeds at once.
    connection(1796058133030, '127.0.0.1', 42197),
    connection(1796058133038, '::1', 42197),
    connection(1796058133038, '127.0.0.1', 53535),
    run(1796058133054, 17108, '/usr/bin/node', "/usr/bin/node -e require('net').connect(1,'127.0.0.1').on('error',()=>process.exit(0))"),
    connection(1796058133154, '127.0.0.1', 1),
    // touch's own run (not a file event: a program run reads its executable), then its openat creating the file.
    run(1796058133162, 17115, '/usr/bin/touch', '/usr/bin/touch /root/.ssh/fbprobe-abs'),
    write(1796058133166, 17115, '/usr/bin/touch', '/root/.ssh/fbprobe-abs'),
    run(1796058133166, 17116, '/usr/bin/touch', '/usr/bin/touch fbprobe-rel', '/root/.ssh'),
    // A relative name, under the directory the event names.
    write(1796058133166, 17116, '/usr/bin/touch', '/root/.ssh/fbprobe-rel'),
    run(
      1796058133170,
      17117,
      '/usr/bin/dash',
      '/bin/sh -c echo x >> /root/.ssh/fbprobe-abs; rm -f /root/.ssh/fbprobe-abs /root/.ssh/fbprobe-rel',
    ),
    write(1796058133170, 17117, '/usr/bin/dash', '/root/.ssh/fbprobe-abs'),
  ]);
});

test('the RAW format: users named by the resolver given, else by number; an unset login uid is left out', () => {
  const raw = serial(499).map((line) => line.split(GS)[0]!);
  const named = convert(raw, { userName: (uid: number) => (uid === 0 ? 'root' : undefined) });
  assert.equal(named[0]?.User, 'root');
  assert.equal(named[0]?.LoginUser, undefined);
  assert.equal(convert(raw)[0]?.User, '0');
  const loggedIn = raw.map((line) => line.replace('auid=4294967295', 'auid=1000'));
  assert.equal(convert(loggedIn, { userName: (uid: number) => (uid === 1000 ? 'alice' : undefined) })[0]?.LoginUser, 'alice');
});

test('an audit log of another machine and era (RAW, 2016, no key): a connect still reads as one; a refused one does not', () => {
  // From the README of github.com/unixist/forensics (ausock): curl connecting to port 80.
  const lines = [
    'type=SYSCALL msg=audit(1453600330.654:87): arch=c000003e syscall=42 success=no exit=-115 a0=3 a1=7ffd66128d00 a2=10 a3=7ffd66128920 items=0 ppid=3525 pid=3703 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=4294967295 comm="curl" exe="/usr/bin/curl" key=(null)',
    'type=SOCKADDR msg=audit(1453600330.654:87): saddr=02000050D83AC02E0000000000000000',
  ];
  const [event, ...rest] = convert(lines);
  assert.deepEqual(rest, []);
  assert.deepEqual(
    [event?._kind, event?.Image, event?.ProcessId, event?.User, event?.DestinationIp, event?.DestinationPort, event?.['@timestamp']],
    ['network_connection', '/usr/bin/curl', 3703, '0', '216.58.192.46', 80, '2016-01-24T01:52:10.654Z'],
  );
  // The same connect refused (ECONNREFUSED): no connection was made.
  assert.deepEqual(convert(lines.map((line) => line.replace('exit=-115', 'exit=-111'))), []);
});

test('a watched write that failed, and events of other rules without a program run, are no events', () => {
  const denied = serial(516).map((line) => line.replace('success=yes exit=3', 'success=no exit=-13'));
  assert.deepEqual(convert(denied), []);
  const otherKey = serial(516).map((line) => line.replace('key="firebreak"', 'key="someone-else"'));
  assert.deepEqual(convert(otherKey), [], "a write seen by another rule is that rule's business");
  const otherKeyRun = serial(499).map((line) => line.replace('key="firebreak"', 'key="someone-else"'));
  assert.equal(convert(otherKeyRun)[0]?._kind, 'process_creation', 'a program run is one whoever audited it');
});

test('decodeSockaddr: IPv4 and IPv6 addresses with their ports; other families and garbage are none', () => {
  assert.deepEqual(decodeSockaddr('0200A4D57F0000010000000000000000'), { address: '127.0.0.1', port: 42197 });
  assert.deepEqual(decodeSockaddr('0A00A4D5000000000000000000000000000000000000000100000000'), { address: '::1', port: 42197 });
  assert.deepEqual(decodeSockaddr('0A000050000000002001067C15620000000000000000001600000000'), { address: '2001:67c:1562::16', port: 80 });
  // A netlink address (from core's auditd tests) and a Unix socket path ("/tmp").
  assert.equal(decodeSockaddr('100000000000000000000000'), null);
  assert.equal(decodeSockaddr('01002F746D7000'), null);
  assert.equal(decodeSockaddr('02'), null);
  assert.equal(decodeSockaddr('not hex at all'), null);
});

/** The capture's lines of an event, as if this test process (and its parent) had acted. */
function asThisProcess(n: number): string {
  return (
    serial(n)
      .map((line) => line.replace(/ ppid=\d+ pid=\d+ /, ` ppid=${process.ppid} pid=${process.pid} `))
      .join('\n') + '\n'
  );
}

test(
  'following the log: appends, a line cut in two, rotation and truncation; what was there before is not read',
  { skip: process.platform !== 'linux' },
  async () => {
    const log = join(work, 'audit.log');
    writeFileSync(log, asThisProcess(499));
    const events: Record<string, unknown>[] = [];
    const problems: string[] = [];
    const telemetry = new AuditTelemetry({
      hostname: 'audited-host',
      hasher: new ExecutableHasher(),
      logPath: log,
      pollMs: 20,
      onEvents: (batch) => events.push(...batch),
      onError: (error) => problems.push(error.message),
    });
    await telemetry.start();
    try {
      const parentImage = realpathSync(readlinkSync(`/proc/${process.ppid}/exe`));
      appendFileSync(log, asThisProcess(508));
      await waitFor(() => events.length >= 1, 'the appended event');
      assert.deepEqual(
        { ...events[0], '@timestamp': undefined },
        {
          _source: 'firebreak-agent',
          _kind: 'process_creation',
          '@timestamp': undefined,
          Computer: 'audited-host',
          Image: '/usr/bin/id',
          ProcessId: process.pid,
          User: 'root',
          CommandLine: 'id',
          ParentProcessId: process.ppid,
          CurrentDirectory: '/tmp/fbcap',
          // Hashed from the path: the pid runs another program now (this test).
          Hashes: `SHA256=${sha256Of('/usr/bin/id')}`,
          ParentImage: parentImage,
          ParentCommandLine: readFileText(`/proc/${process.ppid}/cmdline`).replace(/\0$/, '').replaceAll('\0', ' '),
        },
      );
      const node = asThisProcess(513);
      const cut = node.indexOf('a2=') + 10;
      appendFileSync(log, node.slice(0, cut));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(events.length, 1, 'half a record is no event yet');
      appendFileSync(log, node.slice(cut));
      await waitFor(() => events.length >= 2, 'the event of the line written in two parts');
      assert.match(String(events[1]?.CommandLine), /^\/usr\/bin\/node -e require\('net'\)/);

      // auditd's rotation: the log renamed, a new one created. The old file's last lines still count.
      appendFileSync(log, asThisProcess(515) + asThisProcess(516));
      renameSync(log, `${log}.1`);
      writeFileSync(log, asThisProcess(517) + asThisProcess(518));
      await waitFor(() => events.length >= 6, 'the events on both sides of the rotation');
      assert.deepEqual(
        events.slice(2).map((e) => [e._kind, e.TargetFilename ?? e.CommandLine]),
        [
          ['process_creation', '/usr/bin/touch /root/.ssh/fbprobe-abs'],
          ['file_event', '/root/.ssh/fbprobe-abs'],
          ['process_creation', '/usr/bin/touch fbprobe-rel'],
          ['file_event', '/root/.ssh/fbprobe-rel'],
        ],
      );
      truncateSync(log, 0);
      await new Promise((resolve) => setTimeout(resolve, 60));
      appendFileSync(log, asThisProcess(510));
      await waitFor(() => events.length >= 7, 'the event after truncation');
      assert.deepEqual([events[6]?._kind, events[6]?.DestinationPort], ['network_connection', 42197]);
      assert.deepEqual(problems, []);
    } finally {
      await telemetry.stop();
    }
    assert.ok(!events.some((e) => e.CommandLine?.toString().startsWith('/bin/echo')), 'the line there before start was not read');
  },
);

/** Why the rules cannot be tried here, or false. */
async function rulesSkip(): Promise<string | false> {
  if (process.platform !== 'linux') return 'kernel auditing is Linux only';
  if (process.getuid?.() !== 0) return 'needs root to load audit rules';
  let status: string;
  try {
    status = (await run('auditctl', ['-s'])).stdout;
  } catch (error) {
    return `auditctl cannot talk to the kernel here: ${(error as Error).message}`;
  }
  if (/^enabled 2$/m.test(status)) return 'the audit configuration is locked (enabled 2): no rule can be added';
  if ((await run('auditctl', ['-l'])).stdout.includes('firebreak')) return 'rules keyed firebreak are loaded already (an agent runs here)';
  return false;
}

test(
  "installRules adds the agent's rules (an existing one counts), removeRules deletes exactly those",
  { skip: await rulesSkip() },
  async () => {
    const before = (await run('auditctl', ['-l'])).stdout;
    const first = new AuditTelemetry({ hostname: 'h', onEvents: () => undefined });
    const second = new AuditTelemetry({ hostname: 'h', onEvents: () => undefined });
    try {
      const report = await first.installRules();
      const listed = (await run('auditctl', ['-l'])).stdout.split('\n').filter((line) => line.includes('firebreak'));
      assert.ok(
        report.installed.some((rule) => rule.includes('-S execve')),
        JSON.stringify(report),
      );
      assert.equal(listed.length, report.installed.length, `auditctl -l lists what was added:\n${listed.join('\n')}`);
      assert.ok(listed.some((line) => line.startsWith('-w /etc/passwd -p wa -k firebreak')));
      assert.ok(
        listed.some((line) => /^-a always,exit -F arch=b64 -S connect -F a2!=0x6E -F key=firebreak$/.test(line)),
        listed.join('\n'),
      );
      // Rules left by an earlier run are taken over, not added twice.
      const again = await second.installRules();
      assert.deepEqual(again.installed, report.installed);
      await second.removeRules();
      assert.equal((await run('auditctl', ['-l'])).stdout, before, "the machine's own rules are as they were");
      await assert.rejects(first.removeRules(), /audit rules not removed/);
    } finally {
      await second.removeRules().catch(() => undefined);
      await first.removeRules().catch(() => undefined);
    }
  },
);

const available = process.platform === 'linux' ? await AuditTelemetry.available() : ({ ok: false, reason: 'Linux only' } as const);

test("live: a program run seen through the kernel's audit log", { skip: available.ok ? false : available.reason }, async () => {
  const events: Record<string, unknown>[] = [];
  const telemetry = new AuditTelemetry({ hostname: 'live', onEvents: (batch) => events.push(...batch) });
  const marker = `firebreak-live-${randomBytes(4).toString('hex')}`;
  await telemetry.installRules();
  try {
    await telemetry.start();
    const echo = spawn('/bin/echo', [marker], { stdio: 'ignore' });
    await new Promise((resolve) => echo.once('exit', resolve));
    await waitFor(() => events.some((e) => e.CommandLine === `/bin/echo ${marker}`), 'the run of echo in the audit log', 15_000);
    const event = events.find((e) => e.CommandLine === `/bin/echo ${marker}`)!;
    assert.deepEqual(
      [event._kind, event.Image, event.ProcessId, event.ParentProcessId, event.Hashes],
      ['process_creation', realpathSync('/bin/echo'), echo.pid, process.pid, `SHA256=${sha256Of(realpathSync('/bin/echo'))}`],
    );
  } finally {
    await telemetry.stop();
    await telemetry.removeRules();
  }
});

function readFileText(path: string): string {
  return readFileSync(path, 'utf8');
}
