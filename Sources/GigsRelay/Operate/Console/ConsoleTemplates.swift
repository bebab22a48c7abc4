import Mustache

/// The console's Mustache templates, stylesheet and script, built into the binary. Every `{{value}}` is
/// HTML-escaped (swift-mustache's default), so stored payloads and errors render as text; no template
/// uses the unescaped `{{{value}}}` form.
///
/// Links are relative (`{{root}}/events`), so the pages work under any path prefix a proxy adds.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in sources {
            // The templates are constants: a parse error is a programming error a test catches.
            try? library.register(text, named: name)
        }
        return library
    }()

    /// The HTML of `page` through the template named `template` (empty if there is no such template).
    static func render<Content>(_ page: ConsolePage<Content>, template: String) -> String {
        library.render(page, withTemplate: template) ?? ""
    }

    static let sources: [String: String] = [
        "header": header, "footer": footer, "sign-in": signIn, "overview": overview, "events": events,
        "event": event, "dead": dead, "reconciliation": reconciliation, "message": message,
    ]

    static let header = #"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · gigs-relay</title>
        <link rel="stylesheet" href="{{root}}/style.css">
        <link rel="icon" href="{{root}}/icon.svg" type="image/svg+xml">
        <script src="{{root}}/console.js" defer></script>
        </head>
        <body>
        <header>
        <strong class="brand">gigs-relay</strong>
        {{#signedIn}}
        <nav>
        <a href="{{root}}/overview"{{#onOverview}} aria-current="page"{{/onOverview}}>Overview</a>
        <a href="{{root}}/events"{{#onEvents}} aria-current="page"{{/onEvents}}>Events</a>
        <a href="{{root}}/dead"{{#onDead}} aria-current="page"{{/onDead}}>Dead letters</a>
        <a href="{{root}}/reconciliation"{{#onReconciliation}} aria-current="page"{{/onReconciliation}}>Reconciliation</a>
        </nav>
        <form method="post" action="{{root}}/sign-out" class="sign-out">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit" id="sign-out">Sign out</button>
        </form>
        {{/signedIn}}
        </header>
        <main>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        """#

    static let footer = #"""
        </main>
        <footer>gigs-relay {{version}}</footer>
        </body>
        </html>
        """#

    static let signIn = #"""
        {{> header}}
        <h1>Sign in</h1>
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <form method="post" action="sign-in" class="sign-in">
        <input type="hidden" name="nonce" value="{{nonce}}">
        <label for="token">Admin token</label>
        <input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
        <button type="submit" id="sign-in">Sign in</button>
        </form>
        {{> footer}}
        """#

    static let overview = #"""
        {{> header}}
        <h1>Overview</h1>
        <section class="cards" data-refresh="overview.json">
        <div><span class="count" data-field="eventsReceived">{{counts.eventsReceived}}</span> events received</div>
        <div><span class="count" data-field="pending">{{counts.pending}}</span> pending</div>
        <div><span class="count" data-field="running">{{counts.running}}</span> running</div>
        <div><span class="count" data-field="dead">{{counts.dead}}</span> dead</div>
        <div><span class="count" data-field="oldestPendingSeconds">{{counts.oldestPendingSeconds}}</span> s oldest pending</div>
        </section>
        <h2>Readiness</h2>
        {{#ready}}<p class="ok" id="readiness">Ready</p>{{/ready}}
        {{^ready}}<ul class="error" id="readiness">{{#reasons}}<li>{{.}}</li>{{/reasons}}</ul>{{/ready}}
        <h2>Rates (per second)</h2>
        <table class="rates">
        <thead><tr><th></th><th>last minute</th><th>last 5 minutes</th><th>last 15 minutes</th></tr></thead>
        <tbody>
        {{#rates}}<tr><th>{{name}}</th><td>{{one}}</td><td>{{five}}</td><td>{{fifteen}}</td></tr>{{/rates}}
        </tbody>
        </table>
        <h2>Actions</h2>
        <table class="actions">
        <thead><tr><th>Action</th><th>Kind</th><th>Circuit</th><th>State</th><th>In flight</th><th>Pending</th><th>Dead</th><th>Last error</th><th></th></tr></thead>
        <tbody>
        {{#actions}}{{#action}}
        <tr>
        <td>{{name}}</td><td>{{kind}}</td><td>{{circuit}}</td><td>{{#paused}}paused{{/paused}}{{^paused}}running{{/paused}}</td>
        <td>{{inFlight}}</td><td>{{pending}}</td><td>{{#hasDead}}<a href="dead?action={{name}}">{{dead}}</a>{{/hasDead}}{{^hasDead}}0{{/hasDead}}</td>
        <td class="error-text">{{lastError}}</td>
        <td>
        <form method="post" action="{{#paused}}resume{{/paused}}{{^paused}}pause{{/paused}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="action" value="{{name}}">
        <input type="hidden" name="back" value="overview">
        <button type="submit">{{#paused}}Resume{{/paused}}{{^paused}}Pause{{/paused}}</button>
        </form>
        </td>
        </tr>
        {{/action}}{{/actions}}
        </tbody>
        </table>
        {{> footer}}
        """#

    static let events = #"""
        {{> header}}
        <h1>Events</h1>
        <form method="get" action="events" class="filters">
        <label>Type <input name="type" value="{{filter.type}}" placeholder="com.gigs.subscription.activated"></label>
        <label>Id prefix <input name="idPrefix" value="{{filter.idPrefix}}" placeholder="evt_"></label>
        <label>Subject <input name="subject" id="subject" value="{{filter.subject}}" placeholder="sub_… or group id"></label>
        <label>User <input name="user" id="user" value="{{filter.user}}" placeholder="usr_…"></label>
        <label>Since <input name="since" value="{{filter.since}}" placeholder="2026-11-27T10:00:00Z"></label>
        <label>Until <input name="until" value="{{filter.until}}" placeholder="2026-11-27T11:00:00Z"></label>
        <button type="submit" id="filter">Filter</button>
        </form>
        <table class="events">
        <thead><tr><th>Received</th><th>Id</th><th>Type</th><th>Subject</th></tr></thead>
        <tbody>
        {{#events}}{{#event}}<tr><td>{{receivedAt}}</td><td><a href="events/{{path}}">{{id}}</a></td><td>{{type}}</td><td>{{subject}}</td></tr>{{/event}}{{/events}}
        {{^events}}<tr><td colspan="4">No events match.</td></tr>{{/events}}
        </tbody>
        </table>
        {{#next}}<p><a href="events?{{next}}" id="older">Older events →</a></p>{{/next}}
        {{> footer}}
        """#

    static let event = #"""
        {{> header}}
        <h1>Event <code>{{event.id}}</code></h1>
        <dl class="facts">
        <dt>Type</dt><dd>{{event.type}}</dd>
        <dt>Subject</dt><dd>{{event.subject}}</dd>
        <dt>User</dt><dd>{{event.user}}</dd>
        {{#event.erasedAt}}<dt>Erased</dt><dd class="erased">at {{event.erasedAt}}: its payload was replaced by a tombstone (the user was deleted); it cannot be replayed</dd>{{/event.erasedAt}}
        <dt>Project</dt><dd>{{event.project}}</dd>
        <dt>Event time</dt><dd>{{event.time}}</dd>
        <dt>Received</dt><dd>{{event.receivedAt}}</dd>
        <dt>Sequence</dt><dd>{{event.sequence}}</dd>
        {{#event.traceId}}<dt>Trace</dt><dd class="trace">{{#traceLink}}<a href="{{traceLink}}" id="trace-link" rel="noopener noreferrer">{{event.traceId}}</a>{{/traceLink}}{{^traceLink}}<code>{{event.traceId}}</code>{{/traceLink}}</dd>{{/event.traceId}}
        {{#event.reconciled}}<dt>Origin</dt><dd class="reconciled">reconciled: rebuilt from the Gigs API by reconciliation (<code>gigs-relay reconcile --emit</code> or <code>[reconcile]</code>), Gigs never delivered it</dd>{{/event.reconciled}}
        {{#supersededBy}}<dt>Superseded by</dt><dd class="superseded"><a href="{{supersededBy}}">its reconciled stand-in</a>, stored first: this webhook was kept, not dispatched again</dd>{{/supersededBy}}
        </dl>
        <h2>Verified headers</h2>
        <dl class="facts">
        <dt>webhook-id</dt><dd>{{event.messageId}}</dd>
        <dt>webhook-timestamp</dt><dd>{{webhookTimestamp}}</dd>
        <dt>webhook-signature</dt><dd>verified on receipt and kept with the event (a signature is not a secret; the signing secrets are never stored)</dd>
        </dl>
        <h2>Routes that match now</h2>
        {{#routes}}<p>Route {{route}}: {{#actions}}<code>{{.}}</code> {{/actions}}</p>{{/routes}}
        {{^routes}}<p>No route matches this event now.</p>{{/routes}}
        <form method="post" action="../replay" class="replay">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="event" value="{{event.id}}">
        <input type="hidden" name="back" value="events/{{eventPath}}">
        <label>Replay to <select name="action" id="replay-action">
        <option value="">every matching action</option>
        {{#routedActions}}<option value="{{.}}">{{.}}</option>{{/routedActions}}
        </select></label>
        <button type="submit" id="replay">Replay</button>
        </form>
        <h2>Deliveries</h2>
        {{#deliveries}}{{#delivery}}
        <section class="delivery" id="{{id}}">
        <h3><code>{{id}}</code> to {{action}}: <span class="status status-{{status}}">{{status}}</span>{{#replay}} (replay){{/replay}}{{#outOfOrder}} (out of order){{/outOfOrder}}</h3>
        <p>Attempts: {{attemptCount}}{{#nextAttemptAt}}; next at {{nextAttemptAt}}{{/nextAttemptAt}}</p>
        {{#lastError}}<p class="error-text last-error">lastError: {{lastError}}</p>{{/lastError}}
        <table class="attempts">
        <thead><tr><th>#</th><th>Started</th><th>Duration</th><th>Outcome</th><th>Error</th></tr></thead>
        <tbody>
        {{#attempts}}<tr><td>{{number}}</td><td>{{startedAt}}</td><td>{{durationMs}} ms</td><td>{{outcome}}</td><td class="error-text">{{error}}</td></tr>{{/attempts}}
        {{^attempts}}<tr><td colspan="5">No attempt yet.</td></tr>{{/attempts}}
        </tbody>
        </table>
        {{#canSkip}}
        <form method="post" action="../skip" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{id}}">
        <input type="hidden" name="back" value="events/{{eventPath}}">
        {{#canRetry}}<button type="submit" formaction="../retry">Retry</button>{{/canRetry}}
        <button type="submit">Skip</button>
        </form>
        {{/canSkip}}
        </section>
        {{/delivery}}{{/deliveries}}
        {{^deliveries}}<p>No deliveries.</p>{{/deliveries}}
        <h2>Payload</h2>
        <pre class="payload" id="payload">{{payload}}</pre>
        {{> footer}}
        """#

    static let dead = #"""
        {{> header}}
        <h1>Dead letters</h1>
        <form method="get" action="dead" class="filters">
        <label>Action <select name="action" id="dead-action">
        <option value="">every action</option>
        {{#actionNames}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/actionNames}}
        </select></label>
        <button type="submit">Filter</button>
        </form>
        <form method="post" action="retry" id="one"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="back" value="{{back}}"></form>
        <table class="dead">
        <thead><tr><th>Delivery</th><th>Event</th><th>Action</th><th>Attempts</th><th>Last error</th><th>Updated</th><th></th></tr></thead>
        <tbody>
        {{#deliveries}}{{#delivery}}
        <tr id="{{id}}">
        <td><code>{{id}}</code></td><td><a href="events/{{eventPath}}">{{eventId}}</a><br><small>{{eventType}}</small></td><td>{{action}}</td>
        <td>{{attemptCount}}</td><td class="error-text">{{lastError}}</td><td>{{updatedAt}}</td>
        <td><button form="one" formaction="retry" name="id" value="{{id}}" class="retry">Retry</button>
        <button form="one" formaction="skip" name="id" value="{{id}}" class="skip">Skip</button></td>
        </tr>
        {{/delivery}}{{/deliveries}}
        {{^deliveries}}<tr><td colspan="7">No dead letters.</td></tr>{{/deliveries}}
        </tbody>
        </table>
        {{#hasDeliveries}}
        <form method="post" action="retry" class="all">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="back" value="{{back}}">
        {{#deliveries}}{{#delivery}}<input type="hidden" name="id" value="{{id}}">{{/delivery}}{{/deliveries}}
        <button type="submit" id="retry-all">Retry all {{count}} shown</button>
        </form>
        {{/hasDeliveries}}
        {{#next}}<p><a href="dead?{{next}}" id="older">Older dead letters →</a></p>{{/next}}
        {{> footer}}
        """#

    static let reconciliation = #"""
        {{> header}}
        <h1>Reconciliation</h1>
        <p>Events the Gigs API's state implies that Gigs never delivered: runs of <code>[reconcile]</code> and of <code>gigs-relay reconcile</code>, newest first.</p>
        <table class="reconciliation">
        <thead><tr><th>Run</th><th>Started</th><th>By</th><th>State</th><th>Read</th><th>Expected</th><th>Found</th><th>Missing</th><th>Emitted</th></tr></thead>
        <tbody>
        {{#runs}}
        <tr id="run-{{id}}" class="{{state}}">
        <td>{{id}}</td><td>{{startedAt}}</td><td>{{trigger}}<br><small>{{instance}}</small></td><td>{{state}}{{#incomplete}}<br><small class="error-text">{{incomplete}}</small>{{/incomplete}}</td>
        <td>{{resourcesRead}}</td><td>{{expected}}</td><td>{{found}}</td><td>{{missingCount}}</td><td>{{emitted}}</td>
        </tr>
        {{#hasMissing}}
        <tr class="missing"><td></td><td colspan="8"><ul>
        {{#missing}}<li><code>{{type}}</code> for <code>{{resource}}</code> at {{time}}{{#standIn}}: <a href="events/{{standIn}}">stand-in</a>{{/standIn}}</li>{{/missing}}
        {{#more}}<li>and {{more}} more (the run's log lines name them all)</li>{{/more}}
        </ul></td></tr>
        {{/hasMissing}}
        {{/runs}}
        {{^runs}}<tr><td colspan="9">No reconciliation has run: configure <code>[reconcile]</code>, or run <code>gigs-relay reconcile</code>.</td></tr>{{/runs}}
        </tbody>
        </table>
        {{> footer}}
        """#

    static let message = #"""
        {{> header}}
        <h1>{{title}}</h1>
        <p>{{text}}</p>
        {{#link}}<p><a href="{{link}}">{{linkText}}</a></p>{{/link}}
        {{> footer}}
        """#

    static let stylesheet = """
        :root { color-scheme: light dark; --muted: #6b7280; --accent: #2563eb; --bad: #b91c1c; --good: #15803d; }
        body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; }
        header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.5rem; border-bottom: 1px solid #8884; }
        header nav { display: flex; gap: 1rem; flex: 1; }
        header nav a[aria-current] { font-weight: 600; text-decoration: none; }
        main { padding: 1rem 1.5rem 3rem; max-width: 80rem; }
        footer { padding: 1rem 1.5rem; color: var(--muted); font-size: 12px; }
        a { color: var(--accent); }
        table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
        th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #8883; vertical-align: top; }
        code, pre { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
        pre.payload { background: #8881; padding: 1rem; overflow: auto; max-height: 40rem; }
        .cards { display: flex; flex-wrap: wrap; gap: 1rem; }
        .cards div { border: 1px solid #8884; border-radius: 6px; padding: .6rem 1rem; min-width: 9rem; }
        .count { display: block; font-size: 1.6rem; font-weight: 600; }
        .filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin-bottom: 1rem; }
        .filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
        .sign-in { display: flex; flex-direction: column; gap: .5rem; max-width: 22rem; }
        form.inline { display: inline; }
        .error, .error-text, .status-dead, .status-failed { color: var(--bad); }
        .ok, .status-succeeded { color: var(--good); }
        .notice { border-left: 3px solid var(--accent); padding: .3rem .8rem; }
        .facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        .facts dt { color: var(--muted); }
        .facts dd { margin: 0; }
        """

    /// The tab's icon: a relay arrow.
    static let icon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2563eb"/>\
        <path d="M3 8h8M8 4l4 4-4 4" stroke="#fff" stroke-width="2" fill="none"/></svg>
        """

    /// Refreshes the overview's counts every five seconds; the page works without it.
    static let script = """
        "use strict";
        document.addEventListener("DOMContentLoaded", () => {
          const section = document.querySelector("[data-refresh]");
          if (!section) return;
          const refresh = async () => {
            try {
              const response = await fetch(section.dataset.refresh, { credentials: "same-origin" });
              if (!response.ok) return;
              const counts = await response.json();
              for (const element of section.querySelectorAll("[data-field]")) {
                const value = counts[element.dataset.field];
                if (value !== undefined) element.textContent = String(value);
              }
            } catch (error) {}
          };
          setInterval(refresh, 5000);
        });
        """
}
