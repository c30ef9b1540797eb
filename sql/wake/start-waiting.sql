-- From now on (once this commits) triggers NOTIFY.
UPDATE pgbridge.listener_state SET waiting = true
