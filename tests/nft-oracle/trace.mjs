// node trace.mjs BASE FILE... -> {"fileList": [...], "reasons": {...}, "warnings": [...], "seconds": N}
import { nodeFileTrace } from '@vercel/nft';

const [base, ...files] = process.argv.slice(2);
const started = process.hrtime.bigint();
const { fileList, reasons, warnings } = await nodeFileTrace(files, { base });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const why = {};
for (const [file, reason] of reasons) why[file] = { type: reason.type, parents: [...reason.parents] };
process.stdout.write(JSON.stringify({
  fileList: [...fileList].sort(), reasons: why, warnings: [...warnings].map(String), seconds,
}));
