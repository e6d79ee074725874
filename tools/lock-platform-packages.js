#!/usr/bin/env node
// The npm registry this project is built from serves only the platform packages of the machines it
// runs on (no darwin / win32 / ... builds of @swc/core and friends). `npm install` then leaves those
// optional packages out of package-lock.json, and `npm ci` refuses the lock as out of sync. This adds
// an entry for each missing optional platform package, with the os / cpu / libc that its name
// states, so that `npm ci` skips it on every other platform without fetching it.
// Run after any `npm install` that rewrites the lock: `node tools/lock-platform-packages.js`.
const fs = require('node:fs');
const path = require('node:path');

const lockPath = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(lockPath, 'utf8'));
const packages = lock.packages;

const CPUS = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64', 'wasm32'];
const OSES = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openharmony', 'wasi'];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((part) => OSES.includes(part));
  const cpu = parts.find((part) => CPUS.includes(part));
  if (!os && !cpu) return undefined;
  const entry = {};
  if (os && os !== 'wasi') entry.os = [os];
  if (cpu) entry.cpu = [cpu];
  if (os === 'linux') entry.libc = [parts.some((part) => part.startsWith('musl')) ? 'musl' : 'glibc'];
  return entry;
}

let added = 0;
for (const [location, info] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(info.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    const nested = `${location ? `${location}/` : ''}node_modules/${name}`;
    if (packages[key] || packages[nested]) continue;
    const platform = platformOf(name);
    if (!platform) continue;
    packages[key] = { version, dev: info.dev, optional: true, ...platform };
    if (!packages[key].dev) delete packages[key].dev;
    added += 1;
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
fs.writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: added ${added} optional platform package entr${added === 1 ? 'y' : 'ies'}`);
