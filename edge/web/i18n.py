"""The page's words in Japanese (the default) and English. A key missing from a language falls
back to English, then to the key itself, so a gap shows as a word, never as an error."""

from __future__ import annotations

LANGUAGES = ("ja", "en")

WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "title": "ナンバー認識", "live": "ライブ", "events": "イベント", "allow": "許可リスト", "health": "状態",
        "logout": "ログアウト", "login": "ログイン", "user": "ユーザー", "password": "パスワード",
        "login_failed": "ユーザー名またはパスワードが違います", "too_many": "失敗が多すぎます。しばらくしてからやり直してください",
        "expired": "セッションの有効期限が切れました。もう一度ログインしてください",
        "fps": "解析フレーム/秒", "frames_seen": "フレーム/秒", "camera": "カメラ", "connected": "接続中",
        "disconnected": "未接続", "daemon_stopped": "デーモンが動いていません", "updated": "更新",
        "no_frame": "まだ画像がありません", "roi": "認識範囲",
        "plate": "ナンバー", "time": "時刻", "color": "色", "category": "種別", "confidence": "確度",
        "direction": "方向", "decision": "判定", "reason": "理由", "relay": "リレー", "evidence": "証拠画像",
        "from": "開始", "to": "終了", "any": "すべて", "search": "検索", "export_csv": "CSVで書き出す",
        "no_events": "該当するイベントはありません", "plate_hint": "例: 品川 300 さ 12-34、12-34、品川",
        "full_frame": "全体画像", "rectified": "ナンバー拡大", "fields": "各欄", "value": "値",
        "label": "名前", "valid_from": "有効開始", "valid_until": "有効終了", "add": "追加", "remove": "削除",
        "import_csv": "CSVを取り込む", "import": "取り込む", "csv_file": "CSVファイル", "or_paste": "または貼り付け",
        "added": "追加しました", "removed": "削除しました", "imported": "件を取り込みました",
        "nothing_imported": "1行でも誤りがあると何も取り込みません", "listed_plates": "登録済みナンバー",
        "any_color": "色を問わない", "color_hint": "色は車の種別で照合します（黄・図柄入り黄縁・白の軽自家用は同じ扱い）", "no_entries": "登録はありません",
        "uptime": "稼働時間", "disk": "ディスク使用量", "budget": "上限", "db_size": "データベース",
        "last_event": "最新イベント", "models": "モデル", "precision": "精度", "relay_port": "リレーのポート",
        "present": "あり", "missing": "なし", "dry_run": "ドライラン（ポートなし）", "outbox": "未送信",
        "free": "空き", "mode": "ゲートモード", "next": "次へ", "prev": "前へ", "back": "戻る",
        "frames_used": "使用フレーム", "vehicle": "車両", "lane": "レーン", "emitted": "発行理由",
        "approaching": "接近", "leaving": "退出", "stationary": "停止", "unknown": "不明",
        "open": "開", "deny": "拒否", "log": "記録のみ", "skip": "見送り", "log-only": "記録のみ",
        "white": "白", "green": "緑", "yellow": "黄", "black": "黒", "design-green": "図柄・緑縁",
        "design-yellow": "図柄・黄縁", "bad_plate": "ナンバーとして読めません", "bad_time": "時刻として読めません",
        "lang": "English",
    },
    "en": {
        "title": "Plate reader", "live": "Live", "events": "Events", "allow": "Allow-list", "health": "Health",
        "logout": "Log out", "login": "Log in", "user": "User", "password": "Password",
        "login_failed": "Wrong user or password", "too_many": "Too many failed attempts; try again in a few minutes",
        "expired": "Your session expired; please log in again",
        "fps": "frames analysed/s", "frames_seen": "frames/s", "camera": "Camera", "connected": "connected",
        "disconnected": "not connected", "daemon_stopped": "the daemon is not running", "updated": "updated",
        "no_frame": "no picture yet", "roi": "reading area",
        "plate": "Plate", "time": "Time", "color": "Colour", "category": "Category", "confidence": "Confidence",
        "direction": "Direction", "decision": "Decision", "reason": "Reason", "relay": "Relay", "evidence": "Evidence",
        "from": "From", "to": "To", "any": "any", "search": "Search", "export_csv": "Export CSV",
        "no_events": "No matching events", "plate_hint": "e.g. 品川 300 さ 12-34, 12-34, 品川",
        "full_frame": "Full frame", "rectified": "Rectified plate", "fields": "Fields", "value": "Value",
        "label": "Label", "valid_from": "Valid from", "valid_until": "Valid until", "add": "Add", "remove": "Remove",
        "import_csv": "Import CSV", "import": "Import", "csv_file": "CSV file", "or_paste": "or paste",
        "added": "Added", "removed": "Removed", "imported": "plate(s) imported",
        "nothing_imported": "one bad line and nothing is imported", "listed_plates": "Listed plates",
        "any_color": "any colour", "color_hint": "a colour is matched by what it says of the vehicle: a kei car's yellow, design-yellow and white plates are the same", "no_entries": "No plates listed",
        "uptime": "Uptime", "disk": "Disk used", "budget": "budget", "db_size": "Database",
        "last_event": "Last event", "models": "Models", "precision": "Precision", "relay_port": "Relay port",
        "present": "present", "missing": "missing", "dry_run": "dry-run (no port)", "outbox": "Waiting to send",
        "free": "free", "mode": "Gate mode", "next": "Next", "prev": "Previous", "back": "Back",
        "frames_used": "Frames used", "vehicle": "Vehicle", "lane": "Lane", "emitted": "Emitted because",
        "approaching": "approaching", "leaving": "leaving", "stationary": "stationary", "unknown": "unknown",
        "open": "open", "deny": "deny", "log": "log only", "skip": "skipped", "log-only": "log only",
        "white": "white", "green": "green", "yellow": "yellow", "black": "black", "design-green": "design, green rim",
        "design-yellow": "design, yellow rim", "bad_plate": "Not a plate", "bad_time": "Not a time",
        "lang": "日本語",
    },
}


def word(lang: str, key: str) -> str:
    return WORDS.get(lang, {}).get(key) or WORDS["en"].get(key) or key
