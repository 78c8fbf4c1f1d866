import AVFoundation
import Foundation
import Tauri
import UIKit
import WebKit

class ExcludeArgs: Decodable {
    let path: String
}

/// cpal opens the microphone with Core Audio but does not set the audio session: without the
/// play-and-record category, active, capture delivers silence or fails.
class MicPlugin: Plugin {
    @objc public func requestMicrophone(_ invoke: Invoke) {
        let session = AVAudioSession.sharedInstance()
        do {
            try session.setCategory(.playAndRecord, mode: .default, options: [.defaultToSpeaker, .allowBluetooth])
            try session.setActive(true)
        } catch {
            invoke.reject("the audio session could not be started: \(error.localizedDescription)")
            return
        }
        let answer: (Bool) -> Void = { granted in invoke.resolve(["granted": granted]) }
        if #available(iOS 17.0, *) {
            AVAudioApplication.requestRecordPermission(completionHandler: answer)
        } else {
            session.requestRecordPermission(answer)
        }
    }

    /// Models (GBs) and caches must not go to iCloud backups.
    @objc public func excludeFromBackup(_ invoke: Invoke) throws {
        let args = try invoke.parseArgs(ExcludeArgs.self)
        var url = URL(fileURLWithPath: args.path, isDirectory: true)
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        do {
            try url.setResourceValues(values)
            invoke.resolve()
        } catch {
            invoke.reject("could not exclude \(args.path) from backups: \(error.localizedDescription)")
        }
    }
}

@_cdecl("init_plugin_murmur_mic")
func initPlugin() -> Plugin {
    return MicPlugin()
}
