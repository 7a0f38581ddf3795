"""A real RTSP server for the tests (GStreamer's gst-rtsp-server from Debian, run with the
system Python that has its GObject bindings): serves a folder of JPEG frames, looped, as H.264
at rtsp://127.0.0.1:PORT/lane. Usage: /usr/bin/python3 tests/rtsp_server.py FOLDER PORT"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

folder, port = sys.argv[1], sys.argv[2]
Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(f'( multifilesrc location={folder}/%03d.jpg loop=true caps="image/jpeg,framerate=15/1" '
                   "! jpegdec ! videoconvert ! video/x-raw,format=I420 "
                   "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 bitrate=4000 "
                   "! rtph264pay name=pay0 pt=96 config-interval=1 )")
factory.set_shared(True)
server.get_mount_points().add_factory("/lane", factory)
if server.attach(None) == 0:
    sys.exit(f"cannot listen on 127.0.0.1:{port}")
print("ready", flush=True)
GLib.MainLoop().run()
