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
const { generate } = require(fs.existsSync(peers) ? peers : path.resolve(process.env.AGORA_PEERS || '', 'gen-workload.js'));

const themeMap = { services: 'social-services' };
const docs = generate(Number(args.n), Number(args.seed));
const out = fs.createWriteStream(args.out || '/dev/stdout');
let bytes = 0;
for (const d of docs) {
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
  const line = JSON.stringify(rec) + '\n';
  bytes += Buffer.byteLength(line);
  out.write(line);
}
out.end();
process.stderr.write(`prepared ${docs.length} practices (${bytes} bytes) from seed ${args.seed}\n`);
