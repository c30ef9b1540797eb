UPDATE pgbridge.listener_state SET waiting = false WHERE waiting
