// Sends identify, page, track, group and alias with @segment/analytics-node, unchanged,
// to the mql server at argv[2] with the write key argv[3] for the person argv[4]; prints
// {"errors": [...]} (what the library's error event reported) once everything is flushed.
const { Analytics } = require('@segment/analytics-node')

async function main () {
  const [host, writeKey, email, anonymousId] = process.argv.slice(2)
  const analytics = new Analytics({ writeKey, host, flushAt: 20, flushInterval: 200, maxRetries: 1 })
  const errors = []
  analytics.on('error', (err) => errors.push(String(err && (err.reason || err.message || err.code))))
  analytics.page({ anonymousId, name: 'Pricing', category: 'Docs', properties: { url: 'https://mql.example/pricing' } })
  analytics.identify({ userId: email, anonymousId, traits: { email, firstName: 'Noor', title: 'VP Engineering' } })
  analytics.track({ userId: email, event: 'Demo Requested', properties: { plan: 'team' } })
  analytics.group({ userId: email, groupId: 'initrode', traits: { name: 'Initrode', website: 'https://initrode.example' } })
  await analytics.closeAndFlush({ timeout: 20000 })
  console.log(JSON.stringify({ errors }))
}

main().catch((err) => { console.error(err); process.exit(1) })
