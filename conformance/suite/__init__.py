"""The certification tests the plugin adds to a session given --tmem-backend."""
