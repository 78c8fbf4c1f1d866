package app.murmur.mic

import android.Manifest
import android.app.Activity
import app.tauri.PermissionState
import app.tauri.annotation.Command
import app.tauri.annotation.Permission
import app.tauri.annotation.PermissionCallback
import app.tauri.annotation.TauriPlugin
import app.tauri.plugin.Invoke
import app.tauri.plugin.JSObject
import app.tauri.plugin.Plugin

/** Asks for RECORD_AUDIO at run time (Tauri's mobile-plugin permission API). */
@TauriPlugin(
    permissions = [
        Permission(strings = [Manifest.permission.RECORD_AUDIO], alias = "microphone")
    ]
)
class MicPlugin(private val activity: Activity) : Plugin(activity) {
    @Command
    fun requestMicrophone(invoke: Invoke) {
        if (getPermissionState("microphone") == PermissionState.GRANTED) {
            invoke.resolve(JSObject().put("granted", true))
        } else {
            requestPermissionForAlias("microphone", invoke, "microphoneAnswered")
        }
    }

    @PermissionCallback
    fun microphoneAnswered(invoke: Invoke) {
        val granted = getPermissionState("microphone") == PermissionState.GRANTED
        invoke.resolve(JSObject().put("granted", granted))
    }

    /** Android backups are off for the whole app (see the manifest): nothing to do per path. */
    @Command
    fun excludeFromBackup(invoke: Invoke) {
        invoke.resolve()
    }
}
