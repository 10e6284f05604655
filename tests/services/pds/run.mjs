// A real Bluesky PDS beside an in-memory PLC directory, for the publisher tests.
// Usage: node run.mjs <plc-port> <pds-port> <data-dir>; prints one JSON line when ready, stops on SIGTERM/SIGINT.
import { Secp256k1Keypair } from '@atproto/crypto'
import { PDS, envToCfg, envToSecrets } from '@atproto/pds'
import plc from '@did-plc/server'
import * as ui8 from 'uint8arrays'
import { mkdirSync } from 'node:fs'

const [plcPort, pdsPort, dataDir] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]]
if (!plcPort || !pdsPort || !dataDir) {
  console.error('usage: node run.mjs <plc-port> <pds-port> <data-dir>')
  process.exit(2)
}

mkdirSync(dataDir, { recursive: true })

// The PLC directory lives in memory, so every run starts with no accounts.
const plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: plcPort })
await plcServer.start()

const rotationKey = await Secp256k1Keypair.create({ exportable: true })
const recoveryKey = await Secp256k1Keypair.create()
const env = {
  devMode: true,
  port: pdsPort,
  hostname: 'localhost',
  dataDirectory: dataDir,
  blobstoreDiskLocation: `${dataDir}/blobs`,
  didPlcUrl: `http://127.0.0.1:${plcPort}`,
  serviceHandleDomains: ['.test'],
  inviteRequired: false,
  rateLimitsEnabled: false,
  recoveryDidKey: recoveryKey.did(),
  // Throwaway values: this server only ever listens on the loopback interface for one test run.
  jwtSecret: 'greenroom-test-jwt-secret',
  adminPassword: 'greenroom-test-admin',
  plcRotationKeyK256PrivateKeyHex: ui8.toString(await rotationKey.export(), 'hex'),
}
const pds = await PDS.create(envToCfg(env), envToSecrets(env))
await pds.start()
console.log(JSON.stringify({ ready: true, pds: `http://localhost:${pdsPort}`, plc: `http://127.0.0.1:${plcPort}` }))

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await pds.destroy()
  await plcServer.destroy()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
