#!/usr/bin/env node
'use strict';
// Turns the peer harness's workload (../shared/peers/gen-workload.js, same seed) into
// Agora input records: one practice per document, the city left to the signer.
//
//   node bench/prepare-workload.js --n 100000 --seed 1 --out bench/data/practices-100000.ndjson
const fs = require('fs');
const path = require('path');

const args = { n: 100000, seed: 1, out: '' };
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const peers = path.resolve(__dirname, '../../shared/peers/gen-workload.js');
// The harness's documents one at a time (its generate() builds them all in memory first:
// more than 4 GB at a million), the same sequence for the same seed.
const { makeRng, docAt } = require(fs.existsSync(peers) ? peers : path.resolve(process.env.AGORA_PEERS || '', 'gen-workload.js'));

const themeMap = { services: 'social-services' };
const rng = makeRng(Number(args.seed));
const fd = args.out ? fs.openSync(args.out, 'w') : 1;
let bytes = 0;
let chunk = '';
for (let i = 0; i < Number(args.n); i++) {
  const d = docAt(rng);
  const rec = {
    kind: 'practice',
    id: d.id,
    title: d.title,
    summary: d.summary,
    language: 'en',
    themes: d.themes.map((t) => themeMap[t] || t),
    started: d.year,
    partners: d.partners,
    outcomes: d.outcomes,
    links: d.links,
  };
  chunk += JSON.stringify(rec) + '\n';
  if (chunk.length > 1 << 20) {
    bytes += Buffer.byteLength(chunk);
    fs.writeSync(fd, chunk);
    chunk = '';
  }
}
bytes += Buffer.byteLength(chunk);
fs.writeSync(fd, chunk);
if (args.out) fs.closeSync(fd);
process.stderr.write(`prepared ${Number(args.n)} practices (${bytes} bytes) from seed ${args.seed}\n`);
