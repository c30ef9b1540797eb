LISTEN pgbridge
