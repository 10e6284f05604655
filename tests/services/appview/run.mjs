// The full local Bluesky network (PLC, PDS, AppView, Ozone) for the listening and analytics tests.
// Usage: node run.mjs <schema> <plc-port> <pds-port> <bsky-port> <ozone-port>
// Needs DB_POSTGRES_URL (a throwaway database), REDIS_HOST and TMPDIR (a folder of the caller's) in the environment.
// Prints one JSON line with the URLs when ready; SIGTERM or SIGINT closes the network.
import { TestNetwork } from '@atproto/dev-env'

const [schema, plcPort, pdsPort, bskyPort, ozonePort] = process.argv.slice(2)
if (!schema || !plcPort || !pdsPort || !bskyPort || !ozonePort) {
  console.error('usage: node run.mjs <schema> <plc-port> <pds-port> <bsky-port> <ozone-port>')
  process.exit(2)
}

const net = await TestNetwork.create({
  // Without a schema name the AppView's tables go to "appview_undefined".
  dbPostgresSchema: schema,
  plc: { port: Number(plcPort) },
  pds: { port: Number(pdsPort), hostname: 'localhost', enableDidDocWithSession: true },
  bsky: { port: Number(bskyPort), publicUrl: `http://localhost:${bskyPort}` },
  ozone: { port: Number(ozonePort), chatUrl: 'http://localhost:1', chatDid: 'did:example:chat' },
})
console.log(JSON.stringify({ ready: true, pds: net.pds.url, bsky: net.bsky.url, plc: net.plc.url }))

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  try {
    await net.close()
  } finally {
    process.exit(0)
  }
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
