// read.mjs TABLE_DIR: reads an Iceberg table of the file catalog
// (TABLE_DIR/metadata/version-hint.text names the current metadata) with
// icebird, an Iceberg reader written in JavaScript that shares no code
// with iceberg-go, and prints one JSON object: the current snapshot's
// summary, the number of rows, every p_row_id, and a few values of the
// first rows.
//
// Two workarounds, both in a globalThis.fetch wrapper:
//  1. Node's fetch takes neither file:// URLs nor plain paths, and iceberg-go
//     writes plain absolute paths in manifests: serve local files ourselves,
//     honouring "Range: bytes=a-b" (hyparquet reads Parquet by ranges).
//  2. icebird inflates Avro "deflate" blocks with its own gunzip, which fails
//     on iceberg-go's manifests ("offset is out of bounds"): rewrite every
//     .avro file as an uncompressed one (codec "null"), blocks inflated with
//     zlib.inflateRawSync.
import { readFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'
import { icebergRead, icebergMetadata } from 'icebird'

const realFetch = globalThis.fetch

function localPath(url) {
  if (url.startsWith('file://')) return fileURLToPath(url)
  if (url.startsWith('/')) return url
  return undefined
}

// Avro object container: "Obj\x01", map<string,bytes> metadata, 16-byte sync,
// then blocks of (count: long, size: long, data, sync). Longs are zigzag varints.
function readLong(buf, pos) {
  let n = 0n, shift = 0n, b
  do { b = buf[pos.i++]; n |= BigInt(b & 0x7f) << shift; shift += 7n } while (b & 0x80)
  return Number((n >> 1n) ^ -(n & 1n))
}
function writeLong(out, v) {
  let n = (BigInt(v) << 1n) ^ (BigInt(v) >> 63n)
  do { let b = Number(n & 0x7fn); n >>= 7n; if (n) b |= 0x80; out.push(b) } while (n)
}
function avroUncompressed(buf) {
  const pos = { i: 4 }
  const meta = []
  for (;;) {
    let count = readLong(buf, pos)
    if (count === 0) break
    if (count < 0) { count = -count; readLong(buf, pos) }
    for (let k = 0; k < count; k++) {
      const kl = readLong(buf, pos); const key = buf.subarray(pos.i, pos.i + kl).toString(); pos.i += kl
      const vl = readLong(buf, pos); let val = buf.subarray(pos.i, pos.i + vl); pos.i += vl
      if (key === 'avro.codec') val = Buffer.from('null')
      meta.push([key, val])
    }
  }
  const codec = meta.find(([k]) => k === 'avro.codec')
  const sync = buf.subarray(pos.i, pos.i + 16); pos.i += 16
  const out = [0x4f, 0x62, 0x6a, 0x01]
  writeLong(out, meta.length)
  for (const [k, v] of meta) { writeLong(out, Buffer.byteLength(k)); out.push(...Buffer.from(k)); writeLong(out, v.length); out.push(...v) }
  writeLong(out, 0)
  out.push(...sync)
  const parts = [Buffer.from(out)]
  while (pos.i < buf.length) {
    const count = readLong(buf, pos)
    const size = readLong(buf, pos)
    let data = buf.subarray(pos.i, pos.i + size); pos.i += size
    pos.i += 16
    data = zlib.inflateRawSync(data)
    const hdr = []
    writeLong(hdr, count); writeLong(hdr, data.length)
    parts.push(Buffer.from(hdr), data, sync)
  }
  return Buffer.concat(parts)
}
function isDeflateAvro(buf) {
  return buf.subarray(0, 4).toString('latin1') === 'Obj\x01' && buf.indexOf('deflate') > 0 && buf.indexOf('deflate') < 4096
}

globalThis.fetch = async (input, init = {}) => {
  const url = typeof input === 'string' ? input : input.url
  const p = localPath(url)
  if (!p) return realFetch(input, init)
  let data
  try { data = readFileSync(p) } catch { return new Response(null, { status: 404, statusText: 'Not Found' }) }
  if (p.endsWith('.avro') && isDeflateAvro(data)) data = avroUncompressed(data)
  const range = new Headers(init.headers).get('Range')
  if (init.method === 'HEAD') return new Response(null, { status: 200, headers: { 'Content-Length': String(data.length) } })
  if (range) {
    const m = /bytes=(\d+)-(\d*)/.exec(range)
    const start = Number(m[1]), end = m[2] === '' ? data.length - 1 : Number(m[2])
    return new Response(data.subarray(start, end + 1), { status: 206, headers: { 'Content-Length': String(end + 1 - start) } })
  }
  return new Response(data, { status: 200, headers: { 'Content-Length': String(data.length) } })
}

const tableUrl = process.argv[2]
const metadata = await icebergMetadata({ tableUrl })
const rows = await icebergRead({ tableUrl, metadata })
const snap = metadata.snapshots?.find(s => s['snapshot-id'] === metadata['current-snapshot-id'])
const sample = rows.slice(0, 3).map(r => ({
  category: r.category, p_event_time: r.p_event_time, operationName: r.operationName,
  upn: r.properties?.userPrincipalName, blob: r.p_source_file?.blob, reason: r.reason,
}))
console.log(JSON.stringify({
  rows: rows.length,
  total_records: snap?.summary?.['total-records'] ?? null,
  row_ids: rows.map(r => r.p_row_id).sort(),
  sample,
}, (_, v) => typeof v === 'bigint' ? Number(v) : v))
